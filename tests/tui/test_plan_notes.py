"""A planner's plan in the diff pane: shown for approval, approved with `A`, and its progress
followed as the children are merged."""

from __future__ import annotations

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.widgets.plan_notes import PlanNotes

from .conftest import ready, until


async def test_plan_shown_approved_and_followed(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

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
        pane = app.main_screen.review
        notes = pane.query_one(PlanNotes)
        await until(
            pilot, lambda: notes.display and notes.plan is not None, timeout=60, what="the plan"
        )
        assert pane.task_id == task.id
        shown = str(notes.render())
        assert "Plan: proposed" in shown and "3. [coder] Gamma joins them after 1, 2" in shown

        await pilot.press("4")
        await pilot.press("A")
        await until(
            pilot,
            lambda: notes.plan is not None and notes.plan.status == "merged",
            timeout=60,
            what="the plan merged",
        )
        assert "3/3 subtasks merged" in str(notes.render())
        # The merges changed the parent's branch: its diff is read again, without `R`.
        await until(pilot, lambda: len(pane.view.files) > 0, what="the parent's merged diff")
