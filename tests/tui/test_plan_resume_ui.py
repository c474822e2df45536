"""A plan stopped by a merge conflict, in the app: the plan notes say so and name the keys;
`M` (confirmed) merges again and leaves the conflict in the parent's workspace; `S` skips the
subtask and the plan finishes without it."""

from __future__ import annotations

from typing import Any

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.dialogs import Confirm
from asynccoder_tui.tui.widgets.plan_notes import PlanNotes

from .conftest import ready, toasts, until


async def _select(pilot: Any, app: AsyncCoderApp, task_id: Any) -> None:
    main = app.main_screen
    table = main.tasks.table
    for _ in range(100):
        if main.selected is not None and main.selected.id == task_id:
            return
        if table.loaded_task(task_id) is not None and not table.loading_page:
            main.select_task_row(task_id)
        await pilot.pause(0.1)
    raise AssertionError("the task was not selected")


async def test_conflict_shown_then_resumed_and_skipped(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import plans, repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=2))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        parent = await tasks.submit(
            ctx,
            tasks.SubmitRequest(
                repository=str(root), prompt="Build it", model="scripted:planner-conflict",
                mode=TaskMode.PLAN,
            ),
        )  # fmt: skip
        for _ in range(600):
            if (await tasks.get_task(ctx, parent.id)).status.is_final:
                break
            await pilot.pause(0.1)
        await plans.approve_plan(ctx, parent.id)
        for _ in range(600):
            if (await plans.show_plan(ctx, parent.id)).status == "conflict":
                break
            await pilot.pause(0.1)

        main = app.main_screen
        await _select(pilot, app, parent.id)
        notes = main.review.query_one(PlanNotes)
        await until(
            pilot,
            lambda: notes.plan is not None and notes.plan.status == "conflict",
            timeout=30,
            what="the conflict shown",
        )
        shown = str(notes.render())
        assert "merge conflict" in shown and "same.txt" in shown
        assert "M resumes" in shown and "S skips" in shown

        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: any("Plan stopped again" in t for t in toasts(app)))
        view = await plans.show_plan(ctx, parent.id)
        assert view.problem and view.problem["kept"] is True

        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: any("Plan resumed" in t for t in toasts(app)))
        await until(
            pilot,
            lambda: notes.plan is not None and notes.plan.status == "merged",
            what="the plan merged",
        )
        assert "skipped" in str(notes.render())


async def test_resume_keys_on_a_task_without_a_stopped_plan_say_so(ui_settings, make_repo) -> None:
    """M and S on a task with no plan, or a plan that is not stopped, say so at once instead
    of asking to confirm and then failing."""
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="Plain", model="scripted:demo")
        )
        await _select(pilot, app, task.id)
        await pilot.press("M")
        await until(pilot, lambda: any("has no plan" in t for t in toasts(app)), what="a toast")
        assert not isinstance(app.screen, Confirm)
        await pilot.press("S")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, Confirm)
