"""GitHub faults on pull request creation and on sync: 401, 403 (rate limits and permission),
404, 422, 500 and timeouts, from a GitHub-like server (`tests/support/github.py`) that can be
told to fail a given request in a given way.

For each case the round checks the outcome a person relies on: a clear `GitHubError` (status,
words naming the problem, a hint) or success after retries where retrying makes sense (5xx,
timeouts, a rate limit that resets within a minute), never a retry that cannot help (401,
404, 422, a rate limit an hour away), backoff within the client's bounds, and no half-made
state: a `pull_requests` row exactly when GitHub holds the pull request, one pull request on
GitHub however many times the request was retried.

The client's request timeout is 1 s here (30 s in production) and its backoff sleeps are
recorded, then shortened, so the round takes seconds; the delays it asked for are checked.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asynccoder_tui.db import repositories
from asynccoder_tui.domain.errors import GitHubError
from asynccoder_tui.services import github as github_service
from asynccoder_tui.services import repos, review
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.github import GitHubClient
from tests.reliability.harness import git, make_repository, quick_settings, running_pool, top_up
from tests.reliability.harness import wait_final as wait_task
from tests.reliability.invariants import database_problems
from tests.support.github import TOKEN, FakeGitHub, _Handler

CLIENT_TIMEOUT = 1.0


@dataclass
class Fault:
    method: str
    path_part: str
    status: int = 500
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    after_handling: bool = False
    """Handle the request for real, then answer late (a timeout after GitHub acted)."""
    times: int = 1


class _FaultHandler(_Handler):
    server: FaultyGitHub

    def _handle(self) -> None:
        fault = self.server.take_fault(self.command, self.path)
        if fault is None:
            return super()._handle()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.state.requests.append((self.command, self.path, "fault"))
        if fault.after_handling:
            self.server.handle_for_real(self.command, self.path, body)
        if fault.delay:
            time.sleep(fault.delay)
        payload = fault.payload if fault.payload is not None else {"message": "injected"}
        data = json.dumps(payload).encode()
        try:
            # Only the fault's own headers (the stock reply adds a healthy rate limit).
            self.send_response(fault.status)
            self.send_header("Content-Type", "application/json")
            for key, value in fault.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PATCH = _handle


class FaultyGitHub(FakeGitHub):
    """`FakeGitHub` that fails chosen requests (method and a part of the path)."""

    def __init__(self) -> None:
        http.server.ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _FaultHandler)
        self.daemon_threads = True
        from tests.support.github import GitHubState

        self.state = GitHubState()
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path_part in path and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def handle_for_real(self, method: str, path: str, body: bytes) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(path)
        segments = [s for s in parts.path.split("/") if s]
        with self.lock:
            self.route(method, segments, parse_qs(parts.query), json.loads(body) if body else None)

    def pulls(self, full_name: str = "acme/widgets") -> list[dict[str, Any]]:
        return list(self.state.pulls.get(full_name, []))


@contextlib.contextmanager
def quick_client(sleeps: list[float]) -> Iterator[None]:
    """Services build GitHub clients with a 1 s timeout and a recording, shortened sleep."""

    async def sleep(delay: float) -> None:
        import asyncio

        sleeps.append(delay)
        await asyncio.sleep(min(delay, 0.05))

    original = github_service.GitHubClient
    github_service.GitHubClient = functools.partial(  # type: ignore[misc]
        GitHubClient, timeout=CLIENT_TIMEOUT, sleep=sleep
    )
    try:
        yield
    finally:
        github_service.GitHubClient = original  # type: ignore[misc]


@dataclass
class CaseResult:
    name: str
    outcome: str = ""
    requests: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class GitHubReport:
    cases: list[CaseResult] = field(default_factory=list)
    database: list[str] = field(default_factory=list)

    def line(self) -> str:
        failed = sum(1 for c in self.cases if c.problems)
        retried = sum(1 for c in self.cases if c.requests > 1)
        return (
            f"github_faults: {len(self.cases)} cases (401, 403 rate limit and permission, 404, "
            f"422, 500, timeouts; on pull request creation, pull request sync and repository "
            f"sync), {failed} failed, {retried} retried where sensible, "
            f"{sum(1 for c in self.cases if 'row' in ' '.join(c.problems))} half-made states, "
            f"{len(self.database)} database problems"
        )

    def problems(self) -> list[str]:
        return [f"{c.name}: {p}" for c in self.cases for p in c.problems] + self.database


RATE_HEADERS = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0"}


def _pr_cases() -> list[tuple[str, list[Fault], str | None, int]]:
    """(name, faults on the pull request POST, words of the expected error or None for
    success, requests the client may make at most)."""
    post = functools.partial(Fault, "POST", "/pulls")
    later = str(int(time.time()) + 3600)
    soon = str(int(time.time()) + 1)
    return [
        ("401 bad token", [post(401, {"message": "Bad credentials"})], "rejected the token (401)", 1),
        ("403 rate limit an hour away",
         [post(403, {"message": "API rate limit exceeded"}, {**RATE_HEADERS, "x-ratelimit-reset": later})],
         "rate limit stopped opening a pull request", 1),
        ("403 rate limit resetting now",
         [post(403, {"message": "API rate limit exceeded"}, {**RATE_HEADERS, "x-ratelimit-reset": soon})],
         None, 2),
        ("403 secondary rate limit with retry-after",
         [post(403, {"message": "You have exceeded a secondary rate limit"}, {"retry-after": "1"})],
         None, 2),
        ("403 permission",
         [post(403, {"message": "Resource not accessible by integration"})],
         "lacks permission", 1),
        ("404 repository gone", [post(404, {"message": "Not Found"})], "was not found on GitHub", 1),
        ("422 validation",
         [post(422, {"message": "Validation Failed",
                     "errors": [{"message": "No commits between main and the branch"}]})],
         "No commits between main and the branch", 1),
        ("500 once", [post(500, {"message": "boom"})], None, 2),
        ("500 every time", [post(500, {"message": "boom"}, times=10)], "GitHub answered 500", 4),
        ("timeout before GitHub acted", [post(502, delay=CLIENT_TIMEOUT + 1)], None, 2),
        ("timeout after GitHub made the pull request",
         [post(201, {"number": 0}, delay=CLIENT_TIMEOUT + 1, after_handling=True)], None, 4),
        ("malformed answer after GitHub made the pull request",
         [post(201, payload=["not", "a", "pull", "request"], after_handling=True)],
         "unexpected answer", 1),
    ]  # fmt: skip


async def _completed_tasks(ctx: AppContext, root: Path, count: int) -> list[Any]:
    ids = [
        (await task_service.submit(ctx, task_service.SubmitRequest(
            repository=str(root), prompt=f"Improve the README ({n})", model="scripted:demo",
        ))).id
        for n in range(count)
    ]  # fmt: skip
    async with running_pool(ctx, concurrency=4):
        done = [await wait_task(ctx, task_id) for task_id in ids]
    assert all(t.status.value == "completed" for t in done), [t.error for t in done]
    return done


async def github_fault_round(db_url: str, workdir: Path) -> GitHubReport:
    report = GitHubReport()
    server = FaultyGitHub()
    server.add_repo("acme/widgets")
    server.add_repo("acme/gadgets", private=True)
    settings = quick_settings(
        db_url, github_api_url=server.url, github_token=TOKEN, use_gh_cli_token=False
    )
    ctx = await AppContext.open(settings)
    sleeps: list[float] = []
    try:
        await top_up(ctx)
        root = make_repository(workdir / "widgets", {"README.md": "# Widgets\n\nline one\n"})
        origin = workdir / "origin.git"
        git(workdir, "clone", "-q", "--bare", str(root), str(origin))
        git(root, "remote", "add", "origin", str(origin))
        git(root, "fetch", "-q", "origin")
        repo = await repos.add_repo(ctx, str(root))
        await repositories.update_settings(ctx.db.pool, repo.id, {"github": "acme/widgets"})
        cases = _pr_cases()
        done = await _completed_tasks(ctx, root, len(cases) + 1)
        with quick_client(sleeps):
            for (name, faults, expected, most), task in zip(cases, done, strict=False):
                report.cases.append(
                    await _pr_case(ctx, server, task, name, faults, expected, most, sleeps)
                )
            report.cases.extend(await _sync_cases(ctx, server, done[-1], sleeps))
        report.database = await database_problems(ctx.db.pool)
    finally:
        await ctx.close()
        server.close()
    return report


async def _pr_case(
    ctx: AppContext, server: FaultyGitHub, task: Any, name: str, faults: list[Fault],
    expected: str | None, most: int, sleeps: list[float],
) -> CaseResult:  # fmt: skip
    result = CaseResult(f"create PR: {name}")
    before = len(server.state.requests)
    pulls_before = len(server.pulls())
    sleeps.clear()
    for fault in faults:
        server.inject(fault)
    error: GitHubError | None = None
    try:
        pr = await review.create_pull_request(ctx, task.id)
        result.outcome = f"#{pr.number} {pr.state.value}"
    except GitHubError as err:
        error = err
        result.outcome = f"GitHubError: {err}"
    except Exception as err:
        result.problems.append(f"not a clear error: {type(err).__name__}: {err}")
    finally:
        server.faults.clear()
    posts = [r for r in server.state.requests[before:] if r[0] == "POST"]
    result.requests = len(posts)
    rows = await ctx.db.pool.fetchval(
        "SELECT count(*) FROM pull_requests WHERE task_id = $1", task.id
    )
    made = len(server.pulls()) - pulls_before
    if expected is None and error is not None:
        result.problems.append(f"expected success after retries, got: {error}")
    if expected is not None and (error is None or expected not in str(error)):
        result.problems.append(f"expected an error saying {expected!r}, got {result.outcome!r}")
    if error is not None and not error.hint and error.status != 422:
        result.problems.append(f"the error has no hint: {error}")
    if len(posts) > most:
        result.problems.append(f"{len(posts)} requests, at most {most} make sense")
    if made > 1:
        result.problems.append(f"GitHub holds {made} pull requests for one task")
    if rows > made:
        result.problems.append(f"half-made: {rows} pull request rows but GitHub made {made}")
    if made and not rows and error is None:
        result.problems.append("GitHub made the pull request but no row records it")
    if any(delay > 60.0 for delay in sleeps):
        result.problems.append(f"waited past the client's bound: {sleeps}")
    if made and error is not None:
        # GitHub made it but the answer was lost: asking again links it, once.
        again = await review.create_pull_request(ctx, task.id)
        rows = await ctx.db.pool.fetchval(
            "SELECT count(*) FROM pull_requests WHERE task_id = $1", task.id
        )
        if rows != 1 or len(server.pulls()) - pulls_before != 1:
            result.problems.append(f"asking again made {rows} rows")
        result.outcome += f"; asked again: #{again.number} linked"
    return result


async def _sync_cases(
    ctx: AppContext, server: FaultyGitHub, task: Any, sleeps: list[float]
) -> list[CaseResult]:
    results: list[CaseResult] = []
    pr = await review.create_pull_request(ctx, task.id)
    get_pr = functools.partial(Fault, "GET", f"/pulls/{pr.number}")
    list_repos = functools.partial(Fault, "GET", "/user/repos")
    cases: list[tuple[str, Any, Fault | None, str | None, int]] = [
        ("PR sync: 500 once", "pr", get_pr(500), None, 2),
        ("PR sync: timeout once", "pr", get_pr(502, delay=CLIENT_TIMEOUT + 1), None, 2),
        ("PR sync: 404", "pr", get_pr(404, {"message": "Not Found"}), "was not found on GitHub", 1),
        ("PR sync: 401", "pr", get_pr(401, {"message": "Bad credentials"}), "rejected the token", 1),
        ("repo sync: 500 once", "repos", list_repos(500), None, 2),
        ("repo sync: 401", "repos", list_repos(401, {"message": "Bad credentials"}), "rejected the token", 1),
        ("repo sync: 403 rate limit an hour away", "repos",
         list_repos(403, {"message": "API rate limit exceeded"},
                    {**RATE_HEADERS, "x-ratelimit-reset": str(int(time.time()) + 3600)}),
         "rate limit", 1),
        ("repo sync: timeout every time", "repos", list_repos(502, delay=CLIENT_TIMEOUT + 1, times=10),
         "cannot reach GitHub", 4),
        ("repo sync: malformed answer", "repos", list_repos(200, {"not": "a list"}), "other than a list", 1),
    ]  # fmt: skip
    for name, what, fault, expected, most in cases:
        result = CaseResult(name)
        before_requests = len(server.state.requests)
        before_repos = await ctx.db.pool.fetchval("SELECT count(*) FROM repositories")
        sleeps.clear()
        if fault is not None:
            server.inject(fault)
        error: GitHubError | None = None
        try:
            if what == "pr":
                synced = await review.sync_pull_request(ctx, task.id)
                result.outcome = f"#{synced.number} {synced.state.value}"
            else:
                synced_repos = await repos.sync_github(ctx)
                result.outcome = f"{synced_repos.seen} repositories"
        except GitHubError as err:
            error = err
            result.outcome = f"GitHubError: {err}"
        except Exception as err:
            result.problems.append(f"not a clear error: {type(err).__name__}: {err}")
        finally:
            server.faults.clear()
        result.requests = sum(1 for r in server.state.requests[before_requests:] if r[0] == "GET")
        if expected is None and error is not None:
            result.problems.append(f"expected success after retries, got: {error}")
        if expected is not None and (error is None or expected not in str(error)):
            result.problems.append(f"expected an error saying {expected!r}, got {result.outcome!r}")
        if result.requests > most:
            result.problems.append(f"{result.requests} requests, at most {most} make sense")
        if what == "repos" and error is not None:
            after = await ctx.db.pool.fetchval("SELECT count(*) FROM repositories")
            if after != before_repos:
                result.problems.append("a failed sync changed the repositories")
        results.append(result)
    return results
