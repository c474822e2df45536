"""Editing a proposed plan in the app: `E` opens the plan as text, a title and a dependency are
changed from the keyboard, `ctrl+s` saves it (the database and the plan notes have the new
plan); a refused edit keeps the dialog open with the text and the reason; `escape` asks before
dropping changes; an approved plan cannot be edited."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static, TextArea

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.dialogs import Confirm
from asynccoder_tui.tui.screens.plan_editor import PlanEditor
from asynccoder_tui.tui.widgets.plan_notes import PlanNotes

from .conftest import ready, toasts, until


async def _goto(pilot: Any, area: TextArea, row: int, after: str) -> None:
    """Move the cursor with the arrow keys to line `row`, just after `after` in it."""
    while area.cursor_location[0] < row:
        await pilot.press("down")
    while area.cursor_location[0] > row:
        await pilot.press("up")
    await pilot.press("home")
    column = area.document.get_line(row).index(after) + len(after)
    for _ in range(column):
        await pilot.press("right")
    assert area.cursor_location == (row, column)


async def test_plan_edited_refused_and_approved(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import plans, repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        task = await tasks.submit(
            ctx,
            tasks.SubmitRequest(
                repository=str(root), prompt="Build it", model="scripted:planner",
                mode=TaskMode.PLAN,
            ),
        )  # fmt: skip
        notes = app.main_screen.review.query_one(PlanNotes)
        await until(
            pilot, lambda: notes.display and notes.plan is not None, timeout=60, what="the plan"
        )
        assert "E edits" in str(notes.render())

        await pilot.press("4")
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PlanEditor), what="the plan editor")
        editor = app.screen
        assert isinstance(editor, PlanEditor)
        area = editor.query_one("#plan-text", TextArea)
        assert area.has_focus
        assert area.document.get_line(3).startswith("## 2. Beta module  [role: frontend]")

        # Step 2's title: "Beta module" becomes "Beta service".
        await _goto(pilot, area, 3, "## 2. Beta ")
        for _ in "module":
            await pilot.press("delete")
        await pilot.press(*"service")
        # Step 3 waits only for step 2.
        await _goto(pilot, area, 6, "[after: ")
        for _ in "1, ":
            await pilot.press("delete")
        assert "## 3. Gamma joins them  [role: coder]  [after: 2]" in area.text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, PlanEditor), what="saved")

        view = await plans.show_plan(ctx, task.id)
        assert view.status == "proposed"
        assert [s["title"] for s in view.subtasks] == [
            "Alpha module", "Beta service", "Gamma joins them"
        ]  # fmt: skip
        assert view.subtasks[2]["depends_on"] == [2]
        assert view.subtasks[2]["model"] == "scripted:writer"
        shown = str(notes.render())
        assert "2. [frontend] Beta service" in shown
        assert "3. [coder] Gamma joins them after 2" in shown
        assert any("Plan saved: 3 subtasks" in t for t in toasts(app))

        # A refused edit: the dialog stays open, with the text and the reason (its line).
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, PlanEditor), what="the editor again")
        editor = app.screen
        assert isinstance(editor, PlanEditor)
        area = editor.query_one("#plan-text", TextArea)
        await _goto(pilot, area, 6, "[role: ")
        await pilot.press("x")
        await pilot.press("ctrl+s")
        error = editor.query_one("#editor-error", Static)
        await until(pilot, lambda: "xcoder" in str(error.render()), what="the refusal")
        assert "line 7: step 3's role 'xcoder' is unknown" in str(error.render())
        assert app.screen is editor and "[role: xcoder]" in area.text

        # Escape asks before dropping the change; declining keeps the dialog.
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is editor, what="the editor kept")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="the question")
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, (Confirm, PlanEditor)))
        assert (await plans.show_plan(ctx, task.id)).subtasks == view.subtasks

        # Approved, the plan is no longer editable.
        await pilot.press("A")
        await until(
            pilot,
            lambda: notes.plan is not None and notes.plan.status != "proposed",
            timeout=30,
            what="the plan approved",
        )
        await pilot.press("E")
        await until(pilot, lambda: any("only a proposed plan" in t for t in toasts(app)))
        assert not isinstance(app.screen, PlanEditor)
        await until(
            pilot,
            lambda: notes.plan is not None and notes.plan.status == "merged",
            timeout=60,
            what="the plan merged",
        )
