"""The repository settings dialog: `e` on a repository, edited from the keyboard, saved to the
database; a refused value keeps the dialog open with the reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
from textual.widgets import Input, Select, Static

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.repo_settings import RepoSettingsDialog

from .conftest import ready, toasts, until


async def _settings(db_url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(db_url)
    try:
        raw = await conn.fetchval("SELECT settings FROM repositories")
    finally:
        await conn.close()
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


async def _type(pilot: Any, text: str) -> None:
    await pilot.press(*[{" ": "space", "/": "slash", ".": "full_stop"}.get(c, c) for c in text])


async def _open(app: AsyncCoderApp, pilot: Any, root: Path) -> RepoSettingsDialog:
    from asynccoder_tui.services import repos

    await ready(app, pilot)
    assert app.context is not None
    await repos.add_repo(app.context, str(root))
    main = app.main_screen
    main.repos.reload()
    await until(pilot, lambda: main.repos.table.row_count >= 2, what="the repository")
    await pilot.press("1")
    await until(pilot, lambda: main.repos.table.has_focus, what="the repos pane")
    await pilot.press("down")
    await until(pilot, lambda: main.repos.selected is not None, what="the repository selected")
    await pilot.press("e")
    await until(pilot, lambda: isinstance(app.screen, RepoSettingsDialog), what="the dialog")
    dialog = app.screen
    assert isinstance(dialog, RepoSettingsDialog)
    return dialog


async def test_settings_edited_from_the_keyboard_are_saved(
    ui_settings: Any, make_repo: Any, db_url: str
) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(140, 45)) as pilot:
        dialog = await _open(app, pilot, make_repo())
        test_input = dialog.query_one("#test_command", Input)
        assert test_input.has_focus and test_input.value == ""
        await _type(pilot, "pytest -q")
        await pilot.press("tab", "tab")  # past the setup command, onto the review choice
        review = dialog.query_one("#review", Select)
        assert review.has_focus and review.value == "off"
        await pilot.press("enter", "down", "down", "enter")
        await until(pilot, lambda: review.value == "required", what="review required")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.main_screen, what="the dialog to close")
        saved = await _settings(db_url)
        assert saved["test_command"] == "pytest -q" and saved["review"] == "required"
        assert "network" not in saved  # untouched: the global setting still decides
        await until(
            pilot, lambda: any("Saved the settings" in t for t in toasts(app)), what="the toast"
        )

        # Reopened, it shows what was saved.
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, RepoSettingsDialog), what="again")
        dialog = app.screen
        assert isinstance(dialog, RepoSettingsDialog)
        assert dialog.query_one("#test_command", Input).value == "pytest -q"
        assert dialog.query_one("#review", Select).value == "required"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main_screen, what="cancelled")


async def test_a_refused_value_keeps_the_dialog_open(
    ui_settings: Any, make_repo: Any, db_url: str
) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(140, 45)) as pilot:
        dialog = await _open(app, pilot, make_repo())
        await _type(pilot, "make test")
        dialog.query_one("#copy_files", Input).focus()
        await _type(pilot, "/etc/passwd")
        await pilot.press("enter")
        error = dialog.query_one("#editor-error", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="the refusal")
        assert "absolute path" in str(error.render())
        assert app.screen is dialog
        assert await _settings(db_url) == {}

        await pilot.press("ctrl+u")
        await _type(pilot, ".env")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.main_screen, what="the dialog to close")
        saved = await _settings(db_url)
        assert saved["copy_files"] == [".env"] and saved["test_command"] == "make test"
