"""A small stateful GitHub: a local HTTP server answering like the REST API (a real socket).

It knows repositories, branches and pull requests, answers 422 for a second pull request on
the same head, paginates with `Link` headers, sends rate-limit headers, and can be told to
fail the next requests (`fail_next(status, times)`), so services and the UI can be tested
against GitHub's behaviour without the network.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghp_TestToken0123456789abcdef"


@dataclass
class GitHubState:
    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeGitHub

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-ratelimit-limit", "5000")
        self.send_header("x-ratelimit-remaining", "4999")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        state.requests.append((self.command, self.path, self.headers.get("Authorization")))
        with self.server.lock:
            if state.failures:
                status, payload = state.failures.pop(0)
                return self._reply(status, payload)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._reply(401, {"message": "Bad credentials"})
        query = parse_qs(parts.query)
        segments = [s for s in parts.path.split("/") if s]
        with self.server.lock:
            status, payload, headers = self.server.route(self.command, segments, query, body)
        self._reply(status, payload, headers)

    do_GET = do_POST = do_PATCH = _handle


class FakeGitHub(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = GitHubState()
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def add_repo(
        self, full_name: str, *, default_branch: str = "main", private: bool = False
    ) -> None:
        owner, name = full_name.split("/")
        self.state.repos[full_name] = {
            "id": len(self.state.repos) + 1, "name": name, "full_name": full_name,
            "owner": {"login": owner}, "private": private, "default_branch": default_branch,
            "clone_url": f"https://github.com/{full_name}.git", "language": "Python",
            "html_url": f"https://github.com/{full_name}",
        }  # fmt: skip
        self.state.pulls.setdefault(full_name, [])

    def fail_next(self, status: int, times: int = 1, message: str = "failure") -> None:
        self.state.failures.extend([(status, {"message": message})] * times)

    def set_pull_state(self, full_name: str, number: int, **changes: Any) -> None:
        for pull in self.state.pulls[full_name]:
            if pull["number"] == number:
                pull.update(changes)

    def route(
        self, method: str, seg: list[str], query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str] | None]:
        if method == "GET" and seg == ["user"]:
            return 200, {"login": "octo", "id": 1, "name": "Octo"}, None
        if method == "GET" and seg == ["user", "repos"]:
            items = list(self.state.repos.values())
            page = int(query.get("page", ["1"])[0])
            per = int(query.get("per_page", ["30"])[0])
            chunk = items[(page - 1) * per : page * per]
            headers = None
            if page * per < len(items):
                headers = {
                    "Link": f'<{self.url}/user/repos?page={page + 1}&per_page={per}>; rel="next"'
                }
            return 200, chunk, headers
        if len(seg) >= 3 and seg[0] == "repos":
            full = f"{seg[1]}/{seg[2]}"
            repo = self.state.repos.get(full)
            if repo is None:
                return 404, {"message": "Not Found"}, None
            rest = seg[3:]
            if method == "GET" and not rest:
                return 200, repo, None
            if method == "GET" and rest == ["branches"]:
                return 200, [{"name": repo["default_branch"], "commit": {"sha": "0" * 40}}], None
            if rest == ["pulls"] and method == "POST":
                return self._create_pull(full, body or {})
            if rest == ["pulls"] and method == "GET":
                head = query.get("head", [""])[0].split(":")[-1]
                found = [p for p in self.state.pulls[full] if not head or p["head"]["ref"] == head]
                return 200, found, None
            if len(rest) == 2 and rest[0] == "pulls" and method == "GET":
                for pull in self.state.pulls[full]:
                    if str(pull["number"]) == rest[1]:
                        return 200, pull, None
                return 404, {"message": "Not Found"}, None
        return 404, {"message": "Not Found"}, None

    def _create_pull(self, full: str, body: dict[str, Any]) -> tuple[int, Any, None]:
        head = str(body.get("head", "")).split(":")[-1]
        if not body.get("title") or not head or not body.get("base"):
            return (
                422,
                {"message": "Validation Failed", "errors": [{"code": "missing_field"}]},
                None,
            )
        for pull in self.state.pulls[full]:
            if pull["head"]["ref"] == head and pull["state"] == "open":
                msg = f"A pull request already exists for {full.split('/')[0]}:{head}."
                return 422, {"message": "Validation Failed", "errors": [{"message": msg}]}, None
        number = sum(len(p) for p in self.state.pulls.values()) + 1
        pull = {
            "number": number, "html_url": f"https://github.com/{full}/pull/{number}",
            "title": body["title"], "body": body.get("body", ""), "state": "open",
            "draft": bool(body.get("draft")), "merged": False, "merged_at": None,
            "closed_at": None, "head": {"ref": head}, "base": {"ref": body["base"]},
        }  # fmt: skip
        self.state.pulls[full].append(pull)
        return 201, pull, None
