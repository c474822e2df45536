"""Best-of-N in the app: `B` on an attempt shows the three attempts side by side (model,
status, diff stats, tests), a hunk of one is taken into another, and picking one (confirmed)
cleans up the others."""

from __future__ import annotations

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.attempts import AttemptColumn, AttemptsScreen
from asynccoder_tui.tui.screens.dialogs import Confirm
from tests.engine.conftest import finish_turn, plan_model

from .conftest import ready, screen_text, toasts, until


def _writes(tmp_path, name: str) -> str:
    create = {"name": "create", "arguments": {"path": f"{name}.txt", "content": f"{name}\n"}}
    slowly = {"text": "Writing.", "chunk_chars": 1, "delay": 0.25, "tool_calls": [create]}
    return plan_model(tmp_path, [slowly, finish_turn(name)])


async def test_three_attempts_side_by_side_take_and_pick(ui_settings, make_repo, tmp_path) -> None:
    from asynccoder_tui.db import repositories
    from asynccoder_tui.services import attempts, repos, tasks
    from asynccoder_tui.services.review import workspace_manager

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=3))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        repo = await repos.add_repo(ctx, str(root))
        await repositories.update_settings(ctx.db.pool, repo.id, {"test_command": "test -f b.txt"})
        models = [_writes(tmp_path, n) for n in ("a", "b", "c")]
        made = await attempts.submit_attempts(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="Write"), 3, models=models
        )

        main = app.main_screen
        main.tasks.table.reload()
        await until(pilot, lambda: main.tasks.table.loaded_task(made[0].id) is not None)
        ids = [t.id for t in made]
        await until(pilot, lambda: main.selected is not None and main.selected.id in ids)
        assert main.selected is not None
        start = ids.index(main.selected.id)

        await pilot.press("B")
        await until(pilot, lambda: isinstance(app.screen, AttemptsScreen), what="attempts")
        screen = app.screen
        assert isinstance(screen, AttemptsScreen)
        await until(pilot, lambda: len(screen.query(AttemptColumn)) == 3, what="3 columns")
        # Opened while the attempts run: their columns follow them live until they finish.
        assert any(r.status != "completed" for r in screen.rows)
        await until(
            pilot,
            lambda: all(r.status == "completed" and r.test_exit_code is not None
                        for r in screen.rows),
            timeout=60,
            what="the attempts to finish, live",
        )  # fmt: skip
        await pilot.pause(0.2)
        text = screen_text(app)
        for n in (1, 2, 3):
            assert f"Attempt {n}/3" in text
        assert text.count("1 file(s)") == 3 and "✔ tests pass" in text and "✘ tests fail" in text

        # Attempt 1 takes the hunk of attempt 2 (b.txt).
        assert screen.index == start
        await pilot.press(*["h"] * start)
        assert screen.index == 0
        await pilot.press("m")
        assert screen.target == made[0].id
        await pilot.press("l", "o")
        await until(pilot, lambda: screen.hunks_of == made[1].id and screen.hunks, what="hunks")
        await pilot.press("t")
        await until(pilot, lambda: any("Hunk taken" in t for t in toasts(app)), what="taken")
        ws = await workspace_manager(ctx).open(made[0].id)
        assert ws is not None and (ws.path / "b.txt").read_text() == "b\n"

        # Pick attempt 1, confirmed: the other two are cleaned up.
        await pilot.press("escape", "h")
        assert screen.index == 0
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, Confirm), what="the confirmation")
        await pilot.press("y")
        await until(
            pilot, lambda: sum(r.discarded for r in screen.rows) == 2, what="the others discarded"
        )
        assert "★ picked" in screen_text(app)
        # The hint no longer offers to pick or to take hunks from the removed attempts.
        assert "p picks one" not in screen_text(app)
        assert "attempt 1 was picked" in screen_text(app)
        for other in made[1:]:
            assert await workspace_manager(ctx).open(other.id) is None
        # d opens the picked attempt's diff in the main screen.
        await pilot.press("d")
        await until(pilot, lambda: app.screen is main, what="the main screen")
        await until(
            pilot, lambda: main.selected is not None and main.selected.id == made[0].id,
            what="the picked attempt selected",
        )  # fmt: skip
        assert main.focused_pane() == "diff"


async def test_a_task_without_attempts_says_so(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="x", model="scripted:writer")
        )
        main = app.main_screen
        main.tasks.table.reload()
        await until(pilot, lambda: main.tasks.table.loaded_task(task.id) is not None)
        await until(pilot, lambda: main.selected is not None)
        await pilot.press("B")
        await until(pilot, lambda: any("not one of several" in t for t in toasts(app)))
        assert app.screen is main
