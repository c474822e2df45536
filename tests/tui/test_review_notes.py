"""The reviewer's verdict beside the diff: status, scores and each issue at its file, line and
hunk; `b` sends requested changes back to the agent."""

from __future__ import annotations

from pathlib import Path

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.widgets.review_notes import ReviewNotes

from .conftest import ready, until


async def test_review_shown_beside_the_diff_and_sent_back(
    ui_settings, make_repo, tmp_path: Path
) -> None:
    from asynccoder_tui.services import repos, reviews, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        await reviews.set_review_mode(ctx, str(root), "on", model="scripted:reviewer-changes")
        task = await tasks.submit(
            ctx,
            tasks.SubmitRequest(repository=str(root), prompt="Add a note", model="scripted:demo"),
        )
        main = app.main_screen
        notes = main.review.query_one(ReviewNotes)
        await until(
            pilot,
            lambda: notes.display and notes.review is not None,
            timeout=60,
            what="the review in the diff pane",
        )
        assert main.review.task_id == task.id
        shown = str(notes.render())
        assert "changes requested" in shown and "quality 0.40" in shown
        assert "security 0.90" in shown and "README.md:3" in shown
        assert "Move the note under its own heading." in shown

        await pilot.press("4")
        await pilot.press("b")
        await until(
            pilot,
            lambda: any("went back to the agent" in str(n.message) for n in app._notifications),
            what="the send-back toast",
        )
        sent = [
            e for e in await tasks.transcript(ctx, task.id)
            if e.kind.value == "message" and "README.md:3" in str(e.payload.get("text"))
        ]  # fmt: skip
        assert sent
