"""PostgreSQL restarted under ten running tasks and an open terminal UI: everything reconnects,
no event is lost or written twice, the UI shows its banner while the database is away and
takes it down once it is back (see `db_restart.py`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.db_restart import UiHooks, db_restart_round


def check(report: Any) -> None:
    problems = report.problems()
    assert not problems, problems


@contextlib.asynccontextmanager
async def open_ui(settings: Any) -> AsyncIterator[UiHooks]:
    from asynccoder_tui.tui.app import AsyncCoderApp

    app = AsyncCoderApp(settings)

    async def until(check: Any, what: str, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the UI never showed {what}")
            await asyncio.sleep(0.05)

    async with app.run_test(size=(120, 36)):
        await until(lambda: app.context is not None, "the database", 60)
        banner = app.main_screen.banner
        assert not banner.shown

        async def down() -> None:
            await until(lambda: banner.shown, "the disconnected banner", 20)

        async def up() -> None:
            await until(lambda: not banner.shown, "the reconnection (banner still up)", 30)
            assert app.main_screen.header.connected

        yield down, up


async def test_database_restart_under_ten_running_tasks_and_the_ui(
    home: Path, tmp_path: Path
) -> None:
    report = await db_restart_round(tmp_path, tasks=10, restarts=1, ui=open_ui)
    print(report.line())
    check(report)
    assert report.completed_first_try == 10


@pytest.mark.slow
async def test_database_restarted_three_times(home: Path, tmp_path: Path) -> None:
    report = await db_restart_round(tmp_path, tasks=10, restarts=3, ui=open_ui)
    print(report.line())
    check(report)
