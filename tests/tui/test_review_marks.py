"""`m` in the diff marks a file reviewed in the database: the mark is still there when the app
is opened again, and a file changed since its review says so until it is marked again."""

from __future__ import annotations

from pathlib import Path

from asynccoder_tui.tui.app import AsyncCoderApp

from .conftest import ready, submit_review_task, until


async def test_reviewed_mark_survives_a_reopen_and_goes_stale(
    ui_settings, make_repo, tmp_path: Path
) -> None:
    from asynccoder_tui.services import review

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        task = await submit_review_task(app, root, tmp_path)
        main = app.main_screen
        table = main.tasks.table
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.status.is_final,
            timeout=60,
            what="the task",
        )
        view = main.review.view
        await until(pilot, lambda: len(view.files) == 2, what="the changed files")
        await until(pilot, lambda: len(main.review.fingerprints) == 2, what="the fingerprints")
        await pilot.press("4")
        assert view.current_path == "NOTES.md"
        await pilot.press("m")
        assert view.is_reviewed("NOTES.md")
        marks = []
        for _ in range(100):
            marks = await review.list_review_marks(ctx, task.id)
            if marks:
                break
            await pilot.pause(0.05)
        assert [(m.path, m.fingerprint) for m in marks] == [
            ("NOTES.md", main.review.fingerprints["NOTES.md"])
        ]
        assert "1/2 reviewed" in str(main.review.query_one("#diff-summary").render())
        ws = await review.task_workspace(ctx, task)

    # Open the app again: the mark is read back from the database.
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        main = app.main_screen
        view = main.review.view
        await until(pilot, lambda: len(view.files) == 2, what="the changed files again")
        await until(pilot, lambda: view.is_reviewed("NOTES.md"), what="the saved mark")
        assert not view.is_reviewed("README.md") and not view.is_review_stale("README.md")

        # The file changes again (as a follow-up run would): the mark no longer holds.
        (ws.path / "NOTES.md").write_text("rewritten by the agent\n")
        await pilot.press("4", "R")
        await until(pilot, lambda: view.is_review_stale("NOTES.md"), what="the stale mark")
        assert not view.is_reviewed("NOTES.md")
        assert view.current_path == "NOTES.md"
        await pilot.press("m")  # reviewed again, as it is now
        assert view.is_reviewed("NOTES.md") and not view.is_review_stale("NOTES.md")
        ctx = app.context
        assert ctx is not None
        now = main.review.fingerprints["NOTES.md"]
        for _ in range(100):
            if now in {m.fingerprint for m in await review.list_review_marks(ctx, task.id)}:
                break
            await pilot.pause(0.05)
        else:
            raise AssertionError("the new mark was not saved")

        await pilot.press("m")  # and taken back: every mark of the file goes
        for _ in range(100):
            if not await review.list_review_marks(ctx, task.id):
                break
            await pilot.pause(0.05)
        else:
            raise AssertionError("the marks were not taken back")
        assert not view.is_reviewed("NOTES.md") and not view.is_review_stale("NOTES.md")
