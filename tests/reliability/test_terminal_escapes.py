"""Escape sequences from a model and a repository are inert in the CLI and the terminal UI
(see `terminal.py`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import quick_settings
from tests.reliability.terminal import CONTROL, hostile_task, terminal_round


async def test_cli_views_of_a_hostile_task_are_inert(
    db_url: str, home: Path, tmp_path: Path
) -> None:
    report = await terminal_round(db_url, tmp_path)
    print(report.line())
    assert not report.problems, report.problems


async def test_the_terminal_ui_shows_a_hostile_task_inert(
    db_url: str, home: Path, tmp_path: Path
) -> None:
    from asynccoder_tui.tui.app import AsyncCoderApp

    ctx = await AppContext.open(quick_settings(db_url))
    try:
        task = await hostile_task(ctx, tmp_path)
    finally:
        await ctx.close()
    app = AsyncCoderApp(quick_settings(db_url, worker_concurrency=0))

    async def until(check, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, f"the UI never showed {what}"
            await asyncio.sleep(0.05)

    async with app.run_test(size=(160, 45)) as pilot:
        await until(lambda: app.context is not None, "the database")
        main = app.main_screen
        table = main.tasks.table
        await until(lambda: table.loaded_task(task.id) is not None, "the task")
        await until(
            lambda: main.selected is not None and main.selected.id == task.id, "the task selected"
        )
        await until(lambda: main.chat.last_seq >= 5, "the transcript")
        await pilot.pause(0.3)
        screen = app.export_screenshot()
        found = CONTROL.findall(screen)
        assert not found, f"raw control characters on screen: {sorted(set(found))!r}"
        assert "\u241b" in screen, "the escape sequences are not shown as visible symbols"
        await pilot.press("q")
