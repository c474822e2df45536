"""Settings: models' prices and agents' roles edited from the keyboard, saved to the database."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
from textual.widgets import Checkbox, Input, Static, TextArea

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.agent_editor import AgentEditor, AgentTable
from asynccoder_tui.tui.screens.model_editor import ModelEditor, ModelTable
from asynccoder_tui.tui.screens.settings import SettingsScreen

from .conftest import ready, screen_text, until


async def _fetchrow(db_url: str, query: str) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchrow(query)
    finally:
        await conn.close()


async def _main(app: AsyncCoderApp, pilot: Any) -> None:
    """The main screen, once the first-run welcome (a fresh database always shows it, sometimes
    late under load) has come and gone."""
    await ready(app, pilot, dismiss_welcome=False)
    await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is app.main_screen, what="the main screen")


async def _settings(app: AsyncCoderApp, pilot: Any) -> SettingsScreen:
    await _main(app, pilot)
    await pilot.press("comma")
    await until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    await until(pilot, lambda: screen.query_one("#agents", AgentTable).row_count > 0, what="rows")
    return screen


async def test_price_edited_from_the_keyboard_is_saved(ui_settings: Any, db_url: str) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await _settings(app, pilot)
        table = screen.query_one("#models", ModelTable)
        await pilot.press("ctrl+o")
        assert table.has_focus and table.selected == "claude-haiku-4-5"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModelEditor), what="the editor")
        editor = app.screen
        assert editor.query_one("#input_price", Input).value == "1"
        await pilot.press("home", "ctrl+k", "minus", "1", "ctrl+s")
        error = editor.query_one("#editor-error", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="the refusal")
        assert "cannot be negative" in str(error.render())
        assert app.screen is editor
        await pilot.press("home", "ctrl+k", *"0.8", "tab", "home", "ctrl+k", *"4.5", "enter")
        await until(pilot, lambda: app.screen is screen, what="the editor to close")
        row = await _fetchrow(
            db_url,
            "SELECT input_price, output_price FROM ai_models WHERE name = 'claude-haiku-4-5'",
        )
        assert (row[0], row[1]) == (Decimal("0.8"), Decimal("4.5"))
        await until(pilot, lambda: table.models["claude-haiku-4-5"].input_price == Decimal("0.8"))
        audit = await _fetchrow(db_url, "SELECT action, resource_id FROM audit_logs")
        assert tuple(audit) == ("ai_model.changed", "claude-haiku-4-5")

        # space disables the selected model; the default-model choice no longer offers it.
        assert table.has_focus
        await pilot.press("space")
        await until(pilot, lambda: not table.models["claude-haiku-4-5"].active, what="disabled")
        row = await _fetchrow(
            db_url, "SELECT active FROM ai_models WHERE name = 'claude-haiku-4-5'"
        )
        assert row[0] is False

        # Disabling the default model leaves settings usable: reopened, it still loads.
        while table.selected != "claude-sonnet-4-5":
            await pilot.press("down")
        await pilot.press("space")
        await until(pilot, lambda: not table.models["claude-sonnet-4-5"].active, what="disabled")
        await pilot.press("escape", "comma")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings again")
        screen = app.screen
        table = screen.query_one("#models", ModelTable)
        await until(pilot, lambda: table.row_count > 0, what="the models")
        await until(pilot, lambda: screen.query_one("#agents", AgentTable).row_count > 0)
        await pilot.press("ctrl+o")

        # a adds a model: a local one needs its base URL.
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ModelEditor), what="the add dialog")
        editor = app.screen
        await pilot.press(*"qwen3:8b", "ctrl+s")
        error = editor.query_one("#editor-error", Static)
        await until(pilot, lambda: error.has_class("-shown"), what="the refusal")
        assert "base URL" in str(error.render())
        editor.query_one("#base_url", Input).focus()
        await pilot.press(*"http://localhost:11434/v1", "enter")
        await until(pilot, lambda: "qwen3:8b" in table.models, what="the new model")
        row = await _fetchrow(db_url, "SELECT provider FROM ai_models WHERE name = 'qwen3:8b'")
        assert row[0] == "openai_compatible"


async def test_agent_prompt_and_tools_edited_from_the_keyboard(
    ui_settings: Any, db_url: str
) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await _settings(app, pilot)
        table = screen.query_one("#agents", AgentTable)
        await pilot.press("ctrl+g")
        assert table.has_focus
        while table.selected and table.agents[table.selected].kind.value != "coder":
            await pilot.press("down")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AgentEditor), what="the agent editor")
        editor = app.screen
        area = editor.query_one("#system_prompt", TextArea)
        assert area.has_focus and area.text.startswith("You are a careful software engineer")
        await pilot.press(*"Be brief. ")
        # tab: the model choice, then the tool checkboxes in order; uncheck `run`.
        await pilot.press("tab")
        while not editor.query_one("#tool-run", Checkbox).has_focus:
            await pilot.press("tab")
        await pilot.press("space", "ctrl+s")
        await until(pilot, lambda: app.screen is screen, what="the editor to close")
        row = await _fetchrow(
            db_url, "SELECT system_prompt, allowed_tools FROM agents WHERE kind = 'coder'"
        )
        assert row[0].startswith("Be brief. You are a careful software engineer")
        assert row[1] == ["view", "list_files", "search", "edit", "create", "insert", "finish"]
        audit = await _fetchrow(db_url, "SELECT action, resource_id FROM audit_logs")
        assert tuple(audit) == ("agent.changed", "Coder")
        await until(pilot, lambda: table.agents["Coder"].allowed_tools == row[1], what="reload")

        # The help screen lists the tables' keys beside the screen's own.
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        text = screen_text(app)
        assert all(k in text for k in ("Edit model", "Add model", "Edit agent", "Agents"))


async def test_palette_opens_settings_at_the_agents_table(ui_settings: Any) -> None:
    from textual.command import CommandPalette

    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        await _main(app, pilot)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"Agents")
        await until(pilot, lambda: "each role's system prompt" in screen_text(app), what="hit")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        table = app.screen.query_one("#agents", AgentTable)
        await until(pilot, lambda: table.has_focus, what="the agents table")


async def test_a_default_model_outside_the_catalog_is_shown_not_loading(ui_settings) -> None:
    """A default model the catalog does not list (a scripted one, or one disabled since) is
    shown as the choice, not as "loading…" for ever, and saving leaves it as it is."""
    from textual.widgets import Select

    app = AsyncCoderApp(ui_settings(default_model="scripted:writer"))
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _settings(app, pilot)
        select = screen.query_one("#default_model", Select)
        await until(pilot, lambda: select.value == "scripted:writer", what="the default model")
        await pilot.pause(0.1)
        assert "loading…" not in screen_text(app)
        assert "scripted:writer" in screen_text(app)
        assert "default_model" not in screen.changes()


async def test_models_and_agents_tables_move_with_j_and_k(ui_settings) -> None:
    """Like every other list in the app, the settings tables answer j and k."""
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await _settings(app, pilot)
        models = screen.query_one("#models", ModelTable)
        await pilot.press("ctrl+o")
        first = models.selected
        await pilot.press("j")
        assert models.selected != first and models.cursor_row == 1
        await pilot.press("k")
        assert models.selected == first
        agents = screen.query_one("#agents", AgentTable)
        await pilot.press("ctrl+g", "j", "j")
        assert agents.has_focus and agents.cursor_row == 2
        await pilot.press("k")
        assert agents.cursor_row == 1
