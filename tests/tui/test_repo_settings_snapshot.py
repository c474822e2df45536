"""A snapshot of the repository settings dialog over the seeded main screen (deterministic as
in `test_snapshots.py`, whose helpers it uses). Update with `--snapshot-update` and review."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from asynccoder_tui.services import repos
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.repo_settings import RepoSettingsDialog

from .conftest import until
from .test_snapshots import SIZE, _app, _quiet, _seeded, snap_compare

__all__ = ["snap_compare"]


def test_repo_settings_dialog(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        ready: AsyncCoderApp = pilot.app  # type: ignore[assignment]
        assert ready.context is not None
        await repos.update_repo_settings(
            ready.context, "widgets", test_command="pytest -q", review="on",
            copy_files=[".env", "config/local.toml"],
        )  # fmt: skip
        await pilot.press("1", "down", "e")
        await until(pilot, lambda: isinstance(ready.screen, RepoSettingsDialog), what="dialog")
        await pilot.pause(0.3)
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
