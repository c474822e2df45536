"""The new-task dialog's "plan first" box and best-of-N attempts: three attempts with a model
each are queued as one group, the estimate counting all three; plan first queues a planner."""

from __future__ import annotations

from textual.widgets import Checkbox, Input, Select, TextArea

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.services.attempts import attempt_models
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.new_task import NewTaskScreen

from .conftest import ready, until


def test_attempt_models_are_used_in_turn() -> None:
    assert attempt_models("a, b", "d", 3) == ["a", "b", "a"]
    assert attempt_models(" ", "d", 2) == ["d", "d"]


async def _dialog(app: AsyncCoderApp, pilot, root) -> NewTaskScreen:
    from asynccoder_tui.services import repos

    await ready(app, pilot)
    assert app.context is not None
    await repos.add_repo(app.context, str(root))
    main = app.main_screen
    main.repos.reload()
    await until(pilot, lambda: main.repos.first_repository() is not None, what="the repository")
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, NewTaskScreen), what="new task")
    dialog = app.screen
    assert isinstance(dialog, NewTaskScreen)
    await until(
        pilot, lambda: dialog.query_one("#model", Select).value != Select.NULL, what="models"
    )
    return dialog


async def test_three_attempts_with_their_models(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import attempts, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(default_model="scripted:writer", worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        dialog = await _dialog(app, pilot, root)
        dialog.query_one("#prompt", TextArea).text = "write a.txt: a"
        await until(pilot, lambda: dialog.estimate is not None, what="the estimate")
        one = dialog.estimate.expected_credits
        assert not dialog.query_one("#attempt-models-row").display

        dialog.query_one("#attempts", Select).value = 3
        await pilot.pause()
        assert dialog.query_one("#attempt-models-row").display
        dialog.query_one("#attempt-models", Input).value = "scripted:writer,scripted:demo"
        await until(
            pilot, lambda: getattr(dialog.estimate, "count", 1) == 3, what="the 3-way estimate"
        )
        assert "for 3 attempts" in str(dialog.query_one("#estimate").render())
        assert app.context is not None
        demo = await tasks.estimate(app.context, "write a.txt: a", model="scripted:demo")
        assert dialog.estimate.expected_credits == 2 * one + demo.expected_credits
        # A read-only mode is refused for several attempts before submitting.
        dialog.query_one("#mode", Select).value = "ask"
        await until(pilot, lambda: dialog.query_one("#refusal").display, what="the refusal")
        assert "mode ask changes none" in str(dialog.query_one("#refusal").render())
        dialog.query_one("#mode", Select).value = "code"
        await until(pilot, lambda: not dialog.query_one("#refusal").display, what="no refusal")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.main_screen, what="the dialog to close")
        assert app.context is not None
        listed = await tasks.list_tasks(app.context, limit=10)
        assert len(listed) == 3
        rows = await attempts.list_attempts(app.context, listed[0].id)
        assert [r.model for r in rows] == ["scripted:writer", "scripted:demo", "scripted:writer"]
        assert all(r.title.endswith("/3)") for r in rows)
        assert any("3 attempts queued" in str(n.message) for n in app._notifications)


async def test_plan_first_queues_a_planner(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(default_model="scripted:planner", worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        dialog = await _dialog(app, pilot, root)
        dialog.query_one("#prompt", TextArea).text = "Build it"
        dialog.query_one("#attempts", Select).value = 2
        await pilot.pause()
        dialog.query_one("#plan-first", Checkbox).value = True
        await pilot.pause()
        # Plan first runs one planner: the attempts and the mode no longer apply.
        assert dialog.query_one("#attempts", Select).value == 1
        assert dialog.query_one("#attempts", Select).disabled
        assert dialog.query_one("#mode", Select).disabled
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.main_screen, what="the dialog to close")
        assert app.context is not None
        listed = await tasks.list_tasks(app.context, limit=10)
        assert [t.mode for t in listed] == [TaskMode.PLAN]
