"""The app paints first, then connects; database problems show on screen, not as a crash."""

from __future__ import annotations

import asyncio

from textual.widgets import Static

from asynccoder_tui.config import load_settings
from asynccoder_tui.tui.app import AsyncCoderApp


async def _wait_for(app: AsyncCoderApp, pilot, text: str, timeout: float = 20) -> str:
    status = app.query_one("#status", Static)
    for _ in range(int(timeout / 0.05)):
        shown = str(status.render())
        if text in shown:
            return shown
        await pilot.pause(0.05)
    raise AssertionError(f"{text!r} never shown; last: {status.render()!s}")


async def test_shows_database_status_and_repository_count(db_url: str) -> None:
    app = AsyncCoderApp(load_settings(database_url=db_url))
    async with app.run_test(size=(100, 30)) as pilot:
        shown = await _wait_for(app, pilot, "Database ready")
        assert "Repositories: 0" in shown and "User: local" in shown
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_unreachable_database_is_shown_not_raised() -> None:
    url = "postgresql://u:secretpw@127.0.0.1:1/x"
    app = AsyncCoderApp(load_settings(database_url=url))
    async with app.run_test(size=(100, 30)) as pilot:
        shown = await _wait_for(app, pilot, "Database unavailable")
        assert "secretpw" not in shown and "127.0.0.1:1" in shown
        await asyncio.sleep(0)
