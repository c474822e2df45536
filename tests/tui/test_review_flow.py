"""Review from the keyboard: hunk and file navigation, rejecting a hunk reverts it in the
workspace, comments go back to the agent as one follow-up, and the pull request is pushed to a
real bare origin and opened on a GitHub-like local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import TextArea

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.tui.app import AsyncCoderApp
from tests.support.github import TOKEN, FakeGitHub

from .conftest import git, ready, review_plan, toasts, until


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    server = FakeGitHub()
    server.add_repo("acme/widgets")
    yield server
    server.close()


async def test_review_reject_comment_and_pull_request(
    ui_settings, make_repo, tmp_path: Path, github: FakeGitHub
) -> None:
    from asynccoder_tui.db import repositories
    from asynccoder_tui.services import repos, review, tasks

    root = make_repo()
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(root), str(origin))
    git(root, "remote", "add", "origin", str(origin))
    git(root, "fetch", "-q", "origin")
    settings = ui_settings(github_api_url=github.url, github_token=TOKEN)
    app = AsyncCoderApp(settings)
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        repo = await repos.add_repo(ctx, str(root))
        await repositories.update_settings(ctx.db.pool, repo.id, {"github": "acme/widgets"})
        task = await tasks.submit(
            ctx,
            tasks.SubmitRequest(
                repository=str(root), prompt="Tidy the README", model=review_plan(tmp_path)
            ),
        )
        main = app.main_screen
        table = main.tasks.table
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.status.is_final,
            timeout=60,
            what="the task",
        )
        assert table.loaded_task(task.id).status is TaskStatus.COMPLETED  # type: ignore[union-attr]
        await until(pilot, lambda: len(main.review.view.files) == 2, what="the changed files")
        view = main.review.view
        assert [f.path for f in view.files] == ["NOTES.md", "README.md"]

        # Navigate: pane 4, next file, hunks of README.md.
        await pilot.press("4")
        assert view.has_focus
        await until(pilot, lambda: all(view.is_loaded(f.path) for f in view.files), what="hunks")
        await pilot.press("}")
        assert view.current_path == "README.md"
        await pilot.press("]")
        first = (view.current_path, view.current_hunk_index)
        await pilot.press("]")
        second = (view.current_path, view.current_hunk_index)
        assert first == ("README.md", 0) and second == ("README.md", 1)
        await pilot.press("[")
        assert view.current_hunk_index == 0

        # Reject the first hunk: it is reverted in the task's workspace.
        ws = await review.task_workspace(ctx, table.loaded_task(task.id))  # type: ignore[arg-type]
        assert "line ONE" in (ws.path / "README.md").read_text()
        await pilot.press("space")
        await until(
            pilot,
            lambda: "line one\n" in (ws.path / "README.md").read_text(),
            what="the hunk to be reverted",
        )
        text = (ws.path / "README.md").read_text()
        assert "filler twenty-eight" in text and "line ONE" not in text
        await until(
            pilot,
            lambda: len(main.review.hunks.get("README.md", [])) == 1,
            what="the re-read diff",
        )
        assert any("Hunk reverted" in t for t in toasts(app))

        # Comment on the remaining hunk (enter), kept until sent.
        await pilot.press("}", "]")
        assert view.current_path == "README.md" and view.current_hunk_index == 0
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "TextPrompt", what="comment box")
        app.screen.query_one("#prompt-text", TextArea).text = "Keep the number as digits."
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(main.review.comments) == 1, what="the comment")
        assert main.review.comments[0].path == "README.md"
        assert main.review.comments[0].line is not None

        # Pull request: p, edit nothing, ctrl+s; progress shows and the link lands in the row.
        await pilot.press("p")
        await until(pilot, lambda: type(app.screen).__name__ == "PullRequestScreen", what="PR")
        dialog = app.screen
        await pilot.press("ctrl+s")
        await until(pilot, lambda: getattr(dialog, "result", None) is not None, timeout=30)
        assert dialog.result.number == 1  # type: ignore[attr-defined]
        shown = table.loaded_task(task.id)
        assert shown is not None and shown.work_branch
        assert github.state.pulls["acme/widgets"][0]["head"]["ref"] == shown.work_branch
        await pilot.press("escape")
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.pr_url is not None,
            what="the PR in the task row",
        )
        assert shown.work_branch in git(origin, "branch", "--list")
        assert "#1 open" in str(table.get_row(str(task.id)))

        # Send the comment: one follow-up, the task runs again.
        main.review.focus_main()
        await pilot.press("s")
        await until(pilot, lambda: not main.review.comments, what="the comments to be sent")
        transcript = await tasks.transcript(ctx, task.id)
        sent = [e for e in transcript if e.kind.value == "message" and "step" not in e.payload]
        assert "Keep the number as digits." in sent[-1].payload["text"]
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.billing_run == 2,
            what="the task to be queued again",
        )
        await pilot.press("q")
