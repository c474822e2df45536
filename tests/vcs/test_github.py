"""The GitHub client against a local server that answers like the REST API (a real socket)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from asynccoder_tui.domain.enums import PullRequestState
from asynccoder_tui.domain.errors import GitHubError
from asynccoder_tui.vcs.github import GitHubClient
from asynccoder_tui.vcs.github_auth import find_github_token, web_host_for

TOKEN = "ghp_GoodToken0123456789"
REPOS = [
    {"id": i, "name": f"repo{i}", "full_name": f"acme/repo{i}", "owner": {"login": "acme"},
     "private": i % 2 == 0, "default_branch": "main" if i % 3 else "trunk",
     "clone_url": f"https://github.com/acme/repo{i}.git", "html_url": f"https://github.com/acme/repo{i}"}
    for i in range(1, 8)
]  # fmt: skip


def pr(number: int, **extra: Any) -> dict[str, Any]:
    data = {
        "number": number, "html_url": f"https://github.com/acme/widgets/pull/{number}",
        "title": f"PR {number}", "state": "open", "draft": False, "merged": False,
        "merged_at": None, "closed_at": None,
        "head": {"ref": "asynccoder/t1-x"}, "base": {"ref": "main"},
    }  # fmt: skip
    data.update(extra)
    return data


Route = Callable[["Handler", dict[str, list[str]], Any], tuple[int, dict[str, str], Any]]


class Handler(http.server.BaseHTTPRequestHandler):
    server: FakeServer

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        route = self.server.routes.get((self.command, parts.path))
        if route is None:
            status, headers, payload = 404, {}, {"message": "Not Found"}
        elif self.server.auth and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, headers, payload = 401, {}, {"message": "Bad credentials"}
        else:
            status, headers, payload = route(self, parse_qs(parts.query), body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle

    def log_message(self, *args: object) -> None:
        pass


class FakeServer(http.server.ThreadingHTTPServer):
    def __init__(self, host: str = "127.0.0.1", auth: bool = True) -> None:
        super().__init__((host, 0), Handler)
        self.routes: dict[tuple[str, str], Route] = {}
        self.seen: list[tuple[str, str, str | None]] = []
        self.auth = auth
        self.host = host
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server_address[1]}"

    def route(self, method: str, path: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self.routes[(method, path)] = fn
            return fn

        return register


@pytest.fixture
def api() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[FakeServer]:
    """Another host (same machine, another name and port) that must never see the token."""
    server = FakeServer(host="localhost", auth=False)
    yield server
    server.shutdown()
    server.server_close()


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(api: FakeServer, sleeps: Sleeps | None = None, token: str = TOKEN) -> GitHubClient:
    return GitHubClient(token, api_url=api.url, sleep=sleeps or Sleeps(), max_wait=60)


def rate_headers(remaining: int, reset: float | None = None) -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(int(reset or time.time() + 3600)),
        "x-ratelimit-resource": "core",
    }


async def test_user_and_paginated_repositories_with_etag_reuse(api: FakeServer) -> None:
    not_modified: list[int] = []

    @api.route("GET", "/user")
    def user(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 200, rate_headers(4999), {"login": "octo", "id": 1, "name": "Octo Cat"}

    @api.route("GET", "/user/repos")
    def repos(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        page = int(q.get("page", ["1"])[0])
        assert q["affiliation"] == ["owner,collaborator,organization_member"]
        chunk = REPOS[(page - 1) * 3 : page * 3]
        headers = rate_headers(4990 - page)
        if page < 3:
            base = f"{api.url}/user/repos?per_page=100&affiliation=owner%2Ccollaborator%2Corganization_member"
            headers["Link"] = f'<{base}&page={page + 1}>; rel="next", <{base}&page=3>; rel="last"'
        etag = f'"repos-page-{page}"'
        headers["ETag"] = etag
        if h.headers.get("If-None-Match") == etag:
            not_modified.append(page)
            return 304, headers, None
        return 200, headers, chunk

    async with client(api) as gh:
        me = await gh.get_user()
        assert (me.login, me.name) == ("octo", "Octo Cat")
        first = await gh.list_repos()
        assert [r.full_name for r in first] == [f"acme/repo{i}" for i in range(1, 8)]
        assert first[2].default_branch == "trunk" and first[1].private
        assert gh.rate_limit.remaining == 4987 and gh.rate_limit.resource == "core"
        again = await gh.list_repos()
        assert again == first
    statuses = [path for method, path, auth in api.seen if path.startswith("/user/repos")]
    assert len(statuses) == 6
    assert not_modified == [1, 2, 3], "the second listing did not use the ETags"
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in api.seen)


async def test_branches_pagination_and_pull_request_lifecycle(api: FakeServer) -> None:
    @api.route("GET", "/repos/acme/widgets/branches")
    def branches(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        page = int(q.get("page", ["1"])[0])
        headers = {}
        if page == 1:
            headers["Link"] = (
                f'<{api.url}/repos/acme/widgets/branches?per_page=100&page=2>; rel="next"'
            )
            return 200, headers, [{"name": "main", "commit": {"sha": "a" * 40}, "protected": True}]
        return 200, headers, [{"name": "dev", "commit": {"sha": "b" * 40}}]

    created: list[dict[str, Any]] = []

    @api.route("POST", "/repos/acme/widgets/pulls")
    def create(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        created.append(b)
        if len(created) > 1:
            return 422, {}, {
                "message": "Validation Failed",
                "errors": [{"resource": "PullRequest", "code": "custom",
                            "message": "A pull request already exists for acme:asynccoder/t1-x."}],
            }  # fmt: skip
        return 201, {}, pr(7, draft=b["draft"])

    @api.route("GET", "/repos/acme/widgets/pulls")
    def find(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        assert q["head"] == ["acme:asynccoder/t1-x"] and q["state"] == ["open"]
        return 200, {}, [pr(7, draft=True)]

    states = iter([
        pr(7, draft=True),
        pr(7),
        pr(7, state="closed", merged=True, merged_at="2025-01-02T03:04:05Z",
           closed_at="2025-01-02T03:04:05Z"),
        pr(7, state="closed", closed_at="2025-01-03T00:00:00Z"),
    ])  # fmt: skip

    @api.route("GET", "/repos/acme/widgets/pulls/7")
    def get(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, next(states)

    async with client(api) as gh:
        names = await gh.list_branches("acme/widgets")
        assert [(b.name, b.protected) for b in names] == [("main", True), ("dev", False)]

        new = await gh.create_pull_request(
            "acme/widgets", title="Add widget", body="Summary of the task",
            head="asynccoder/t1-x", base="main", draft=True,
        )  # fmt: skip
        assert (new.number, new.state, new.existing) == (7, PullRequestState.DRAFT, False)
        assert created[0] == {
            "title": "Add widget", "body": "Summary of the task",
            "head": "asynccoder/t1-x", "base": "main", "draft": True,
        }  # fmt: skip

        linked = await gh.create_pull_request(
            "acme/widgets", title="Again", body="", head="asynccoder/t1-x", base="main"
        )
        assert linked.existing and linked.number == 7
        assert linked.url == "https://github.com/acme/widgets/pull/7"

        seen = [await gh.get_pull_request("acme/widgets", 7) for _ in range(4)]
        assert [p.state for p in seen] == [
            PullRequestState.DRAFT, PullRequestState.OPEN,
            PullRequestState.MERGED, PullRequestState.CLOSED,
        ]  # fmt: skip
        assert seen[2].merged_at is not None and seen[2].merged_at.year == 2025
        assert seen[3].merged_at is None and not seen[3].merged


async def test_unrelated_422_is_a_clear_error(api: FakeServer) -> None:
    @api.route("POST", "/repos/acme/widgets/pulls")
    def create(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 422, {}, {"message": "Validation Failed",
                         "errors": [{"message": "No commits between main and asynccoder/t1-x"}]}  # fmt: skip

    async with client(api) as gh:
        with pytest.raises(GitHubError) as info:
            await gh.create_pull_request(
                "acme/widgets", title="t", body="", head="asynccoder/t1-x", base="main"
            )
    assert info.value.status == 422
    assert "No commits between main and asynccoder/t1-x" in str(info.value)
    assert "acme/widgets" in str(info.value)


async def test_rate_limits_wait_then_retry_or_fail_clearly(api: FakeServer) -> None:
    calls = {"primary": 0, "secondary": 0}

    @api.route("GET", "/repos/acme/primary/branches")
    def primary(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        calls["primary"] += 1
        if calls["primary"] == 1:
            return 403, rate_headers(0, time.time() + 5), {"message": "API rate limit exceeded"}
        return 200, rate_headers(4999), [{"name": "main", "commit": {"sha": "c" * 40}}]

    @api.route("GET", "/repos/acme/secondary/branches")
    def secondary(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        calls["secondary"] += 1
        if calls["secondary"] == 1:
            return (
                429,
                {"retry-after": "7"},
                {"message": "You have exceeded a secondary rate limit"},
            )
        return 200, {}, []

    @api.route("GET", "/repos/acme/exhausted/branches")
    def exhausted(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 403, rate_headers(0, time.time() + 3600), {"message": "API rate limit exceeded"}

    sleeps = Sleeps()
    async with client(api, sleeps) as gh:
        assert [b.name for b in await gh.list_branches("acme/primary")] == ["main"]
        assert 4 <= sleeps.waits[0] <= 7
        assert await gh.list_branches("acme/secondary") == []
        assert sleeps.waits[1] == 7
        with pytest.raises(GitHubError) as info:
            await gh.list_branches("acme/exhausted")
    assert len(sleeps.waits) == 2, "waited for an hour-long reset"
    assert info.value.status == 403 and info.value.retry_after is not None
    assert 3500 < info.value.retry_after <= 3601
    assert "rate limit" in str(info.value) and "try again after" in str(info.value)


async def test_401_404_and_network_failures_are_clear(api: FakeServer) -> None:
    @api.route("GET", "/repos/acme/widgets/branches")
    def branches(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, []

    async with client(api, token="ghp_wrong") as gh:
        with pytest.raises(GitHubError) as info:
            await gh.list_branches("acme/widgets")
    assert info.value.status == 401
    assert "rejected the token" in str(info.value) and "gh auth login" in str(info.value)
    assert "ghp_wrong" not in str(info.value)

    async with client(api) as gh:
        with pytest.raises(GitHubError) as info:
            await gh.list_branches("acme/missing")
    assert info.value.status == 404 and "acme/missing was not found" in str(info.value)

    @api.route("POST", "/repos/acme/widgets/pulls")
    def forbidden(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 403, rate_headers(4000), {"message": "Resource not accessible by integration"}

    sleeps = Sleeps()
    async with client(api, sleeps) as gh:
        with pytest.raises(GitHubError) as info:
            await gh.create_pull_request(
                "acme/widgets", title="t", body="", head="asynccoder/t1-x", base="main"
            )
    assert info.value.status == 403 and sleeps.waits == [], "a permission error is no rate limit"
    assert "Resource not accessible by integration" in str(info.value)
    assert "acme/widgets" in str(info.value) and "pull requests write" in str(info.value)

    sleeps = Sleeps()
    closed = FakeServer()
    url = closed.url
    closed.shutdown()
    closed.server_close()
    async with GitHubClient(TOKEN, api_url=url, sleep=sleeps, max_retries=2) as gh:
        with pytest.raises(GitHubError) as info:
            await gh.get_user()
    assert "cannot reach GitHub at 127.0.0.1" in str(info.value) and len(sleeps.waits) == 2


async def test_token_never_goes_to_another_host(api: FakeServer, elsewhere: FakeServer) -> None:
    @elsewhere.route("GET", "/landing")
    def landing(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"login": "impostor", "id": 2}

    @elsewhere.route("GET", "/page2")
    def page2(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 200, {}, []

    @api.route("GET", "/user")
    def moved(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return 301, {"Location": f"{elsewhere.url}/landing"}, None

    @api.route("GET", "/repos/acme/widgets/branches")
    def branches(h: Handler, q: dict[str, list[str]], b: Any) -> tuple[int, dict[str, str], Any]:
        return (
            200,
            {"Link": f'<{elsewhere.url}/page2>; rel="next"'},
            [{"name": "main", "commit": {"sha": "d" * 40}}],
        )

    async with client(api) as gh:
        user = await gh.get_user()  # followed, but without the token
        assert user.login == "impostor"
        with pytest.raises(GitHubError, match="points to another host"):
            await gh.list_branches("acme/widgets")
    assert elsewhere.seen == [("GET", "/landing", None)]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in api.seen)


async def test_hostile_repository_names_never_reach_the_api(api: FakeServer) -> None:
    async with client(api) as gh:
        for name in ["../../user", "acme/widgets/../../x", "acme"]:
            with pytest.raises(Exception, match="invalid GitHub repository name"):
                await gh.list_branches(name)
        with pytest.raises(Exception, match="invalid branch name"):
            await gh.create_pull_request(
                "acme/widgets", title="t", body="", head="--evil", base="main"
            )
    assert api.seen == []


async def test_token_lookup_order(tmp_path: Path) -> None:
    gh = tmp_path / "gh"
    gh.write_text(
        '#!/bin/sh\n[ "$1 $2 $3 $4" = "auth token --hostname github.com" ] && echo gho_from_cli\n'
    )
    gh.chmod(0o755)

    found = await find_github_token("ghp_settings", env={"GITHUB_TOKEN": "ghp_env"}, gh=str(gh))
    assert found is not None and (found.source, found.value.get_secret_value()) == (
        "settings",
        "ghp_settings",
    )
    assert "ghp_settings" not in repr(found)
    found = await find_github_token(None, env={"GITHUB_TOKEN": "ghp_env"}, gh=str(gh))
    assert found is not None and found.source == "GITHUB_TOKEN"
    found = await find_github_token(None, env={}, gh=str(gh))
    assert found is not None and (found.source, found.value.get_secret_value()) == (
        "gh",
        "gho_from_cli",
    )
    assert await find_github_token(None, env={}, gh=str(gh), use_gh_cli=False) is None
    assert (
        await find_github_token(None, env={}, gh=str(gh), api_url="https://ghe.example.com/api/v3")
        is None
    ), "asked gh for github.com's token while configured for an Enterprise host"
    assert await find_github_token(None, env={}, gh=str(tmp_path / "no-such-gh")) is None
    assert web_host_for("https://api.github.com") == "github.com"
    assert web_host_for("https://ghe.example.com/api/v3") == "ghe.example.com"
