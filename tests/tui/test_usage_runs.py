"""The usage screen's agent runs: one row per agent role and per model, matching the report."""

from __future__ import annotations

from textual.widgets import DataTable

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.usage import UsageScreen

from .conftest import ready, until


async def test_usage_screen_lists_agent_runs(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(140, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="Note", model="scripted:demo")
        )
        table = app.main_screen.tasks.table
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.status.is_final,
            timeout=60,
            what="the task",
        )
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UsageScreen), what="usage")
        screen = app.screen
        await until(pilot, lambda: not screen.query_one("#usage-report").loading, what="report")
        runs = screen.query_one("#by-agent", DataTable)
        rows = [[str(cell) for cell in runs.get_row_at(i)] for i in range(runs.row_count)]
        assert [r[0] for r in rows] == ["coder", "scripted:demo"]
        assert all(r[1] == "1" and r[2] == "100%" for r in rows)
        assert rows[0][5] == str((await tasks.get_task(ctx, task.id)).files_changed)
