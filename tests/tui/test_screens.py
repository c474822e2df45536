"""Usage, settings, help and the command palette; remapped keys from the config file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Button, Input, Switch

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.help import HelpScreen
from asynccoder_tui.tui.screens.new_task import NewTaskScreen
from asynccoder_tui.tui.screens.settings import SettingsScreen
from asynccoder_tui.tui.screens.usage import UsageScreen

from .conftest import ready, screen_text, toasts, until


async def _type(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(c, c) for c in text])


async def test_usage_screen_shows_balance_ledger_and_charts(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(140, 45)) as pilot:
        await ready(app, pilot)
        assert app.context is not None
        await repos.add_repo(app.context, str(root))
        task = await tasks.submit(
            app.context,
            tasks.SubmitRequest(repository=str(root), prompt="Hold some", model="scripted:demo"),
        )
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, UsageScreen), what="usage")
        screen = app.screen
        await until(pilot, lambda: not screen.query_one("#usage-report").loading, what="the report")
        text = screen_text(app)
        assert f"{10_000 - task.held_credits:,} credits" in text
        assert "hold" in text and "queued 1" in text
        # The hold took credits out of the balance: it reads as a minus, the grant as a plus.
        assert f"-{task.held_credits:,}" in text and f"+{task.held_credits:,}" not in text
        assert "+10,000" in text
        assert "Cost per day" in text and "Tokens per model" in text
        await pilot.press("escape")
        assert app.screen is app.main_screen


async def test_settings_save_to_the_config_file_and_keys_masked(ui_settings, home: Path) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=1))
    async with app.run_test(size=(140, 50)) as pilot:
        await ready(app, pilot)
        assert app.local_workers is not None
        await pilot.press("comma")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        screen = app.screen
        await until(pilot, lambda: "not set" in screen_text(app), what="the masked keys")
        screen.query_one("#worker_concurrency", Input).value = "0"
        screen.query_one("#bell_on_finish", Switch).value = False
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.settings.worker_concurrency == 0, what="the save")
        await until(pilot, lambda: app.local_workers is None, what="the workers to stop")
        saved = tomllib.loads((home / "config.toml").read_text())
        assert saved["worker_concurrency"] == 0 and saved["bell_on_finish"] is False

        key = "sk-ant-test-0123456789abcdefXYZW"
        screen.query_one("#anthropic_api_key-input", Input).value = key
        screen.query_one("#anthropic_api_key-save", Button).press()
        await until(pilot, lambda: app.settings.anthropic_api_key is not None, what="the key")
        await until(pilot, lambda: "sk-ant…XYZW" in screen_text(app), what="the masked key")
        assert key not in screen_text(app)
        assert key not in (home / "config.toml").read_text()
        await pilot.press("escape")
        assert app.screen is app.main_screen


async def test_help_lists_bindings_by_pane_with_remapped_keys(ui_settings) -> None:
    settings = ui_settings(keybindings={"main.new_task": "ctrl+n", "no.such.binding": "x"})
    app = AsyncCoderApp(settings)
    async with app.run_test(size=(140, 60)) as pilot:
        await ready(app, pilot)
        assert any("no.such.binding" in t for t in toasts(app))
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        text = screen_text(app)
        for group in ("Everywhere", "Main screen", "1 Repos", "2 Tasks", "3 Chat", "4 Diff"):
            assert group in text
        assert "main.new_task" in text and "^n" in text and "Next hunk" in text
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.screen is app.main_screen  # n was remapped away
        await pilot.press("ctrl+n")
        await until(pilot, lambda: isinstance(app.screen, NewTaskScreen), what="new task")
        app.screen.query_one("#cancel").focus()
        await pilot.press("q")  # a stray q in a dialog does not quit and lose the draft
        await pilot.pause(0.1)
        assert isinstance(app.screen, NewTaskScreen) and app.return_code is None
        await pilot.press("escape")


async def test_palette_runs_actions_and_jumps_to_tasks(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(140, 45)) as pilot:
        await ready(app, pilot)
        assert app.context is not None
        await repos.add_repo(app.context, str(root))
        wanted = await tasks.submit(
            app.context,
            tasks.SubmitRequest(
                repository=str(root), prompt="Rename the frobnicator", model="scripted:demo"
            ),
        )
        await tasks.submit(
            app.context,
            tasks.SubmitRequest(repository=str(root), prompt="Write docs", model="scripted:demo"),
        )
        main = app.main_screen
        await until(pilot, lambda: main.tasks.table.row_count == 2, what="both tasks")
        await until(pilot, lambda: main.selected is not None, what="a selected task")
        assert main.selected is not None and main.selected.id != wanted.id

        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await _type(pilot, "frobnicator")
        await until(pilot, lambda: "task" in screen_text(app) and "frobnicator" in screen_text(app))
        await pilot.pause(0.3)
        await pilot.press("down", "enter")
        await until(
            pilot,
            lambda: main.selected is not None and main.selected.id == wanted.id,
            what="the jump",
        )

        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await _type(pilot, "Usage and credits")
        await pilot.pause(0.3)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, UsageScreen), what="the usage screen")


async def test_help_scrolls_from_the_keyboard_when_it_does_not_fit(ui_settings) -> None:
    """On a 160x45 terminal the diff pane's keys are below the fold: the keys scroll there,
    and no group loses its last rows (S, the last key of the main screen's, was cut off)."""
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause(0.2)
        assert "Split/unified" not in screen_text(app)
        assert "main.skip_subtask" in screen_text(app)
        await pilot.press("end")
        await pilot.pause(0.2)
        assert "Split/unified" in screen_text(app)
        await pilot.press("home", "j", "j")
        await pilot.pause(0.2)
        groups = app.screen.query_one("#help-groups")
        assert groups.scroll_y > 0
        await pilot.press("escape")
        assert app.screen is app.main_screen
