"""Hostile GitHub answers, straight to `GitHubClient` over an in-memory transport: bodies that
are not JSON, not the shape asked for, missing fields or of the wrong types, oversized, not
UTF-8; pagination and redirects that lead to other hosts or loop; rate-limit headers that are
garbage or absurd; odd statuses. Each must be a `GitHubError` in words (or a sane result),
never another exception, never the token sent to another host, never an endless wait.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from asynccoder_tui.vcs.github import GitHubClient
from tests.reliability.hostile import OK, Case, NoHarm

TOKEN = "ghp_HostileGitHubToken000000000000000000"
API = "https://api.github.test"
Handler = Callable[[httpx.Request], httpx.Response]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


def _raw(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: httpx.Response(status, content=content, headers=headers)


PR = {"number": 7, "html_url": "https://github.test/a/b/pull/7", "title": "t", "state": "open",
      "head": {"ref": "x"}, "base": {"ref": "main"}}  # fmt: skip
REPO = {"id": 1, "full_name": "a/b", "name": "b", "owner": {"login": "a"},
        "clone_url": "https://github.test/a/b.git", "default_branch": "main"}  # fmt: skip


def _other_host_link(request: httpx.Request) -> httpx.Response:
    if request.url.host == "api.github.test":
        return httpx.Response(
            200, json=[REPO], headers={"link": '<https://evil.test/user/repos?page=2>; rel="next"'}
        )
    return httpx.Response(200, json=[REPO])


def _same_page_forever(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json=[REPO], headers={"link": f'<{API}/user/repos?page=1>; rel="next"'}
    )


def _redirect_away(request: httpx.Request) -> httpx.Response:
    if request.url.host == "api.github.test":
        return httpx.Response(302, headers={"location": "https://evil.test/user"})
    if "authorization" in request.headers:
        return httpx.Response(500, json={"message": "the token reached another host"})
    return httpx.Response(200, json={"login": "octo", "id": 1})


def _redirect_loop(request: httpx.Request) -> httpx.Response:
    return httpx.Response(302, headers={"location": str(request.url)})


def _already_exists_then(lookup: Any) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(422, json={"message": "Validation Failed",
                                             "errors": [{"message": "A pull request already exists for a:x."}]})  # fmt: skip
        return httpx.Response(200, json=lookup)

    return handle


BIG = 40 * 1024 * 1024
CASES = [
    Case("user: not JSON", ("get_user", _raw(b"<html>hello</html>")), "unexpected answer"),
    Case("user: a list", ("get_user", _json([1, 2])), "unexpected answer"),
    Case("user: an empty object", ("get_user", _json({})), "unexpected answer"),
    Case("user: wrong types", ("get_user", _json({"login": 5, "id": "x"})), "unexpected answer"),
    Case("user: null", ("get_user", _json(None)), "unexpected answer"),
    Case("user: not UTF-8", ("get_user", _raw(b'{"login": "\xff\xfe", "id": 1}')), "unexpected answer"),
    Case("user: 40 MB body", ("get_user", _raw(b'{"login": "' + b"x" * BIG + b'", "id": 1}')), ("too large", "larger than")),
    Case("user: 301 without a location", ("get_user", _raw(b"", status=301)), "unexpected answer"),
    Case("user: redirect to another host", ("get_user", _redirect_away), OK),
    Case("user: redirect loop", ("get_user", _redirect_loop), "redirected too many times"),
    Case("user: teapot", ("get_user", _json({"message": "short and stout"}, status=418)), "418"),
    Case("user: HTML 502", ("get_user", _raw(b"<html>bad gateway</html>", status=502)), "502"),
    Case("user: 403 with a garbage reset", ("get_user", _json({"message": "API rate limit exceeded"}, 403,
                                                             {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"})), "rate limit"),
    Case("user: reset in the year 10^12", ("get_user", _json({"login": "o", "id": 1}, 200,
                                                             {"x-ratelimit-remaining": "10", "x-ratelimit-reset": "1" + "0" * 20})), OK),
    Case("user: retry-after of a billion seconds", ("get_user", _json({"message": "slow down"}, 429, {"retry-after": "999999999"})), "rate limit"),
    Case("user: retry-after negative", ("get_user", _json({"message": "slow down"}, 429, {"retry-after": "-5"})), "rate limit"),
    Case("user: retry-after garbage", ("get_user", _json({"message": "slow down"}, 429, {"retry-after": "1e12"})), "rate limit"),
    Case("repo: missing id", ("get_repo", _json({"full_name": "a/b"})), "unexpected answer"),
    Case("repo: full name not text", ("get_repo", _json({**REPO, "full_name": ["a", "b"]})), "unexpected answer"),
    Case("repos: an object", ("list_repos", _json({"items": []})), "other than a list"),
    Case("repos: numbers", ("list_repos", _json([1, 2])), "unexpected answer"),
    Case("repos: next page on another host", ("list_repos", _other_host_link), "refusing to send the token"),
    Case("repos: the same page forever", ("list_repos", _same_page_forever), OK),
    Case("branches: not objects", ("list_branches", _json(["main"])), "unexpected answer"),
    Case("pull: created without a number", ("create_pull_request", _json({"html_url": "x"}, 201)), "unexpected answer"),
    Case("pull: created as a list", ("create_pull_request", _json([PR], 201)), "unexpected answer"),
    Case("pull: exists, lookup not a list", ("create_pull_request", _already_exists_then({"number": 7})), "unexpected answer"),
    Case("pull: exists, lookup of garbage", ("create_pull_request", _already_exists_then(["x"])), "unexpected answer"),
    Case("pull: exists, lookup empty", ("create_pull_request", _already_exists_then([])), "already exists"),
    Case("pull: odd state", ("get_pull_request", _json({**PR, "state": "weird", "merged": "yes"})), OK),
    Case("pull: number of the wrong type", ("get_pull_request", _json({**PR, "number": "seven"})), "unexpected answer"),
]  # fmt: skip


class GitHubRunner(NoHarm):
    async def attempt(self, case: Case) -> str:
        method, handler = case.value
        slept: list[float] = []

        async def sleep(delay: float) -> None:
            slept.append(delay)
            if sum(slept) > 600:
                raise AssertionError(f"would wait {sum(slept):.0f} s")

        transport = httpx.MockTransport(handler)
        async with GitHubClient(
            TOKEN, api_url=API, transport=transport, sleep=sleep, max_wait=60
        ) as gh:
            call: dict[str, Any] = {
                "get_user": lambda: gh.get_user(),
                "get_repo": lambda: gh.get_repo("a/b"),
                "list_repos": lambda: gh.list_repos(max_pages=5),
                "list_branches": lambda: gh.list_branches("a/b"),
                "create_pull_request": lambda: gh.create_pull_request(
                    "a/b", title="t", body="b", head="x", base="main"),
                "get_pull_request": lambda: gh.get_pull_request("a/b", 7),
            }  # fmt: skip
            try:
                result = await call[method]()
            except Exception as err:
                if TOKEN in str(err):
                    raise AssertionError("the token is in the error message") from None
                raise
        shown = json.dumps(result, default=str) if isinstance(result, list) else repr(result)
        if TOKEN in shown:
            raise AssertionError("the token is in the result")
        return shown[:200]


class GitHubGroup:
    name = "github"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        yield GitHubRunner()


GROUP = GitHubGroup()
