"""The diff pane reads itself again when a change empties a file or a plan's merges change a
parent's diff, without an error and without `R`."""

from __future__ import annotations

from pathlib import Path

from asynccoder_tui.tui.app import AsyncCoderApp

from .conftest import ready, submit_review_task, toasts, until


async def test_rejecting_the_only_hunk_of_a_file_drops_it_from_the_list(
    ui_settings, make_repo, tmp_path: Path
) -> None:
    from asynccoder_tui.services import review, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        task = await submit_review_task(app, root, tmp_path)
        main = app.main_screen
        view = main.review.view
        await until(pilot, lambda: len(view.files) == 2, timeout=60, what="the changed files")
        assert [f.path for f in view.files] == ["NOTES.md", "README.md"]
        await pilot.press("4")
        await until(pilot, lambda: all(view.is_loaded(f.path) for f in view.files), what="hunks")
        await pilot.press("]")
        assert (view.current_path, view.current_hunk_index) == ("NOTES.md", 0)

        await pilot.press("space")  # NOTES.md's one hunk: the new file goes away
        await until(
            pilot, lambda: [f.path for f in view.files] == ["README.md"], what="the file list"
        )
        ws = await review.task_workspace(ctx, await tasks.get_task(ctx, task.id))
        assert not (ws.path / "NOTES.md").exists()
        assert not [t for t in toasts(app) if "Could not" in t or "no changes" in t]
