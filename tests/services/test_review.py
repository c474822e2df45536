"""Review and publish: hunk reverts in the workspace, comments as a follow-up, the pull request
pushed to a real bare origin and opened on a GitHub-like local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asynccoder_tui.config import load_settings
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.domain.enums import PullRequestState, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, GitHubError
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services import repos, review, tasks
from asynccoder_tui.services.context import AppContext
from tests.engine.conftest import git, wait_status
from tests.support.github import TOKEN, FakeGitHub

PLAN_FILES = {
    "README.md": "# Widgets\n\nline one\nline two\nline three\n"
    + "".join(f"filler {i}\n" for i in range(30)),
    "app.py": "print('hi')\n",
}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    server.add_repo("acme/widgets")
    yield server
    server.close()


async def _completed_task(tmp_path: Path, db_url: str, github: FakeGitHub, make_repo):
    root = make_repo("widgets", PLAN_FILES)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "fetch", "-q", "origin")
    settings = load_settings(
        database_url=db_url, github_api_url=github.url, github_token=TOKEN, use_gh_cli_token=False
    )
    ctx = await AppContext.open(settings)
    repo = await repos.add_repo(ctx, str(root))
    from asynccoder_tui.db import repositories

    await repositories.update_settings(ctx.db.pool, repo.id, {"github": "acme/widgets"})
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(
            repository=str(root), prompt="Improve the README", model="scripted:demo"
        ),
    )
    bus = EventBus(ctx.db.url)
    await bus.start()
    pool = WorkerPool(ctx.db.pool, ctx.settings, concurrency=1, bus=bus)
    await pool.start()
    try:
        done = await wait_status(ctx, task.id, {"completed", "failed"})
    finally:
        await pool.stop()
        await bus.stop()
    assert done.status is TaskStatus.COMPLETED, done.error
    return ctx, root, origin, done


async def test_reject_hunk_changes_the_workspace(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        files = await review.changed_files(ctx, task.id, stats=True)
        assert [f.path for f in files] == ["README.md"]
        diff = await review.file_hunks(ctx, task.id, "README.md")
        assert len(diff.hunks) == 1
        await review.reject_hunk(ctx, task.id, "README.md", 0, hunk_id=diff.hunks[0].id)
        assert await review.changed_files(ctx, task.id) == []
        ws = await review.task_workspace(ctx, task)
        assert (ws.path / "README.md").read_text() == PLAN_FILES["README.md"]
    finally:
        await ctx.close()


async def test_comments_go_back_as_one_follow_up(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        comments = [
            review.HunkComment("README.md", 3, "@@ -1,3 +1,4 @@", "Say why, not what."),
            review.HunkComment("README.md", 9, "@@ -9 +9 @@", "  "),
        ]
        followed = await review.send_comments(ctx, task.id, comments)
        assert followed.status is TaskStatus.QUEUED and followed.billing_run == 2
        transcript = await tasks.transcript(ctx, task.id)
        message = [e for e in transcript if e.kind.value == "message"][-1].payload["text"]
        assert "README.md:3" in message and "Say why, not what." in message
        assert "README.md:9" not in message  # blank comments are not sent
    finally:
        await ctx.close()


async def test_pull_request_is_pushed_and_opened(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, root, origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        steps: list[str] = []
        pr = await review.create_pull_request(ctx, task.id, draft=True, progress=steps.append)
        assert pr.number == 1 and pr.state is PullRequestState.DRAFT
        assert pr.url.endswith("/acme/widgets/pull/1")
        assert steps[-1] == "pull request #1 opened"
        # The branch really reached the origin, and GitHub saw the token only as a header.
        assert task.work_branch in git(origin, "branch", "--list", task.work_branch)
        assert all(TOKEN not in path for _m, path, _a in github.state.requests)
        shown = await tasks.get_task(ctx, task.id)
        assert shown.pr_url == pr.url
        # Asking again returns the same pull request instead of failing.
        again = await review.create_pull_request(ctx, task.id)
        assert again.id == pr.id
        # State changes on GitHub are picked up.
        github.set_pull_state(
            "acme/widgets", 1, state="closed", merged=True, merged_at="2026-11-21T12:00:00Z"
        )
        synced = await review.sync_pull_request(ctx, task.id)
        assert synced.state is PullRequestState.MERGED and synced.merged_at is not None
        assert git(root, "status", "--porcelain") == ""
    finally:
        await ctx.close()


async def test_failed_pull_request_leaves_no_row(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        github.fail_next(500, times=10, message="boom")
        with pytest.raises(GitHubError):
            await review.create_pull_request(ctx, task.id)
        assert (await tasks.get_task(ctx, task.id)).pr_url is None
        assert await ctx.db.pool.fetchval("SELECT count(*) FROM pull_requests") == 0
    finally:
        await ctx.close()


async def test_task_without_changes_opens_no_pull_request(
    tmp_path, db_url, home, github, make_repo
) -> None:
    ctx, _root, origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        diff = await review.file_hunks(ctx, task.id, "README.md")
        await review.reject_hunk(ctx, task.id, "README.md", 0, hunk_id=diff.hunks[0].id)
        with pytest.raises(ConflictError, match="changed nothing") as raised:
            await review.create_pull_request(ctx, task.id)
        assert "commit the changes first" not in (raised.value.hint or "")
        assert task.work_branch not in git(origin, "branch", "--list")
        assert github.state.pulls["acme/widgets"] == []
    finally:
        await ctx.close()


async def test_running_task_cannot_be_edited(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        await ctx.db.pool.execute(
            "UPDATE tasks SET status = 'running', lease_owner = 'w', lease_expires_at = now() + interval '1 minute' WHERE id = $1",
            task.id,
        )
        with pytest.raises(ConflictError, match="still working"):
            await review.reject_file(ctx, task.id, "README.md")
    finally:
        await ctx.close()
