"""Snapshots of the settings editors, made deterministic as in `test_snapshots.py` (fixed size
and clock, no cursor blink, a fixed config path, no user config).

Update with `pytest tests/tui/test_settings_snapshots.py --snapshot-update` after a deliberate
change, and review the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot

from asynccoder_tui.tui.screens.agent_editor import AgentEditor, AgentTable
from asynccoder_tui.tui.screens.model_editor import ModelEditor

from .conftest import until
from .test_snapshots import _app, _connected, _Pinned, _quiet


@pytest.fixture
def snap_compare(snapshot: Any, request: pytest.FixtureRequest) -> Any:
    compare = pytest_textual_snapshot.snap_compare.__wrapped__  # type: ignore[attr-defined]
    return compare(_Pinned(snapshot), request)


@pytest.fixture
def fixed_config(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("ASYNCCODER_CONFIG", "/nonexistent/asynccoder/config.toml")


def test_agent_editor(snap_compare: Any, ui_settings: Any, db_url: str, fixed_config: None) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _connected(pilot)
        await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
        await pilot.press("escape")
        await pilot.press("comma")
        await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen", what="settings")
        table = app.screen.query_one("#agents", AgentTable)
        await until(pilot, lambda: table.row_count > 0, what="the agents")
        await pilot.press("ctrl+g")
        while table.selected and table.agents[table.selected].kind.value != "reviewer":
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgentEditor), what="the editor")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=(150, 50), run_before=run_before)


def test_model_editor(snap_compare: Any, ui_settings: Any, db_url: str, fixed_config: None) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _connected(pilot)
        await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
        await pilot.press("escape")
        await pilot.press("comma")
        await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen", what="settings")
        table = app.screen.query_one("#agents", AgentTable)
        await until(pilot, lambda: table.row_count > 0, what="the models and agents")
        await pilot.press("ctrl+o", "down", "down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ModelEditor), what="the editor")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=(150, 50), run_before=run_before)
