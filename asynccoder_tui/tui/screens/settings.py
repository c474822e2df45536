"""Settings: API keys and the GitHub token (stored encrypted, shown masked), defaults, workers,
the sandbox's network default, notifications, theme, the models with their prices and the agent
roles.

Plain settings are saved to the config file through the settings service and take effect at
once (the theme immediately, the worker pool is restarted with the new concurrency). A key is
never shown again once saved: the field shows its masked form. Models (prices, enabled, new
ones) and agents (prompt, model, tools, enabled) are edited in dialogs and saved to the database
by `services.models` and `services.agents`, which validate and audit each change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.screens.agent_editor import AgentEditor, AgentTable
from asynccoder_tui.tui.screens.model_editor import ModelEditor, ModelTable, price

__all__ = ["SettingsScreen", "price"]

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp

SECRETS = (
    ("anthropic_api_key", "Anthropic API key"),
    ("openai_api_key", "OpenAI API key"),
    ("github_token", "GitHub token"),
)


class SettingsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="settings.close"),
        Binding("ctrl+s", "save", "Save", id="settings.save"),
        Binding("ctrl+o", "focus_models", "Models", id="settings.models"),
        Binding("ctrl+g", "focus_agents", "Agents", id="settings.agents"),
    ]
    HELP_CLASSES: ClassVar[tuple[type, ...]] = (ModelTable, AgentTable)

    DEFAULT_CSS = """
    SettingsScreen #agents {
        height: auto;
        max-height: 16;
    }
    SettingsScreen .table-help {
        color: $text-muted;
    }
    """

    def __init__(self, focus: str | None = None) -> None:
        """`focus`: "models" or "agents" puts the cursor in that table once it is loaded."""
        super().__init__()
        self.initial_focus = focus

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        s = self.ctx_app.settings
        with VerticalScroll(id="settings-form"):
            yield Label(Text("Settings", style="bold"), classes="screen-title")
            yield Static(
                Text(f"Saved to {s.config_file}; keys are stored encrypted.", style="dim"),
                classes="dialog-help",
            )
            yield Label(Text("Keys", style="bold"), classes="section-title")
            for name, label in SECRETS:
                with Horizontal(classes="form-row"):
                    yield Label(label, classes="form-label")
                    yield Static("…", id=f"{name}-masked", classes="masked")
                    yield Input(placeholder="paste to replace", password=True, id=f"{name}-input")
                    yield Button("Save", id=f"{name}-save", classes="small")
                    yield Button("Remove", id=f"{name}-remove", classes="small", variant="error")
            yield Label(Text("Defaults", style="bold"), classes="section-title")
            with Horizontal(classes="form-row"):
                yield Label("Default model", classes="form-label")
                yield Select[str]([], id="default_model", allow_blank=True, prompt="loading…")
            with Horizontal(classes="form-row"):
                yield Label("Default mode", classes="form-label")
                yield Select[str](
                    [(m.value, m.value) for m in TaskMode],
                    value=s.default_mode
                    if s.default_mode in {m.value for m in TaskMode}
                    else "code",
                    allow_blank=False,
                    id="default_mode",
                )
            with Horizontal(classes="form-row"):
                yield Label("Worker concurrency", classes="form-label")
                yield Input(str(s.worker_concurrency), id="worker_concurrency", type="integer")
                yield Static(Text("0 runs no agents in this app", style="dim"), classes="note")
            with Horizontal(classes="form-row"):
                yield Label("Max cost per task ($)", classes="form-label")
                yield Input(str(s.task_max_cost), id="task_max_cost", type="number")
            with Horizontal(classes="form-row"):
                yield Label("Sandbox network", classes="form-label")
                yield Switch(value=s.sandbox_network, id="sandbox_network")
                yield Static(Text("commands may reach the network", style="dim"), classes="note")
            with Horizontal(classes="form-row"):
                yield Label("Bell on finish", classes="form-label")
                yield Switch(value=s.bell_on_finish, id="bell_on_finish")
                yield Static(Text("when the app is not in front", style="dim"), classes="note")
            with Horizontal(classes="form-row"):
                yield Label("Theme", classes="form-label")
                themes = sorted(self.app.available_themes)
                yield Select[str](
                    [(t, t) for t in themes],
                    value=self.app.theme if self.app.theme in themes else themes[0],
                    allow_blank=False,
                    id="theme",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s saves · esc goes back", classes="dialog-hint")
                yield Button("Save settings", id="save", variant="primary")
            yield Label(Text("Models and prices (US$ per million tokens)", style="bold"))
            yield Static(
                "ctrl+o goes here · enter edits · a adds · space enables or disables",
                classes="table-help",
            )
            yield ModelTable(id="models")
            yield Label(Text("Agents", style="bold"), classes="section-title")
            yield Static(
                "ctrl+g goes here · enter edits the prompt, model, tools; changes apply to the "
                "next run",
                classes="table-help",
            )
            yield AgentTable(id="agents")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    @work(group="settings-load", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        from asynccoder_tui.services import github
        from asynccoder_tui.services.settings import masked

        ctx = self.ctx_app.context
        if ctx is None:  # no database (the banner says why): what the settings alone tell
            default = self.ctx_app.settings.default_model
            select = self.query_one("#default_model", Select)
            select.set_options([(f"{safe(default, 40)} (models not read: no database)", default)])
            select.value = default
            for name, _ in SECRETS[:2]:
                self._masked(name, masked(getattr(self.ctx_app.settings, name)))
            return
        with self.ctx_app.reporting("read the settings"):
            for name, _ in SECRETS[:2]:
                self._masked(name, masked(getattr(ctx.settings, name)))
            token = await github.resolve_token(ctx)
            from pydantic import SecretStr

            self._masked("github_token", masked(SecretStr(token) if token else None))
            await self._show_catalog(ctx, ctx.settings.default_model)
            if self.initial_focus in {"models", "agents"}:
                self.query_one(f"#{self.initial_focus}").focus()
                self.initial_focus = None

    def _masked(self, name: str, text: str) -> None:
        self.query_one(f"#{name}-masked", Static).update(Text(text, style="dim"))

    # -- keys -------------------------------------------------------------------------------

    @on(Button.Pressed, ".small")
    def _key_button(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        name, _, verb = button_id.rpartition("-")
        if verb == "save":
            value = self.query_one(f"#{name}-input", Input).value
            self.save_secret(name, value)
        elif verb == "remove":
            self.remove_secret(name)

    @work(group="settings-keys", exit_on_error=False)
    async def save_secret(self, name: str, value: str) -> None:
        from pydantic import SecretStr

        from asynccoder_tui.services import github, settings
        from asynccoder_tui.services.settings import masked

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("save the key"):
            if not value.strip():
                self.notify("Paste the key into the field first", severity="warning")
                return
            if name == "github_token":
                await github.save_token(ctx, value)
            else:
                await settings.save_api_key(ctx, name, value)
            self.ctx_app.settings = ctx.settings
            self.query_one(f"#{name}-input", Input).value = ""
            self._masked(name, masked(SecretStr(value.strip())))
            self.notify("Saved (encrypted)", title="Settings")

    @work(group="settings-keys", exit_on_error=False)
    async def remove_secret(self, name: str) -> None:
        from asynccoder_tui.services import github, settings

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("remove the key"):
            if name == "github_token":
                await github.remove_token(ctx)
            else:
                await settings.remove_api_key(ctx, name)
            self.ctx_app.settings = ctx.settings
            self._masked(name, "not set")
            self.notify("Removed", title="Settings")

    # -- plain settings ---------------------------------------------------------------------

    @on(Select.Changed, "#theme")
    def _theme_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.app.theme = str(event.value)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    def changes(self) -> dict[str, Any]:
        s = self.ctx_app.settings
        wanted: dict[str, Any] = {
            "default_mode": self.query_one("#default_mode", Select).value,
            "worker_concurrency": self.query_one("#worker_concurrency", Input).value.strip(),
            "task_max_cost": self.query_one("#task_max_cost", Input).value.strip(),
            "sandbox_network": self.query_one("#sandbox_network", Switch).value,
            "bell_on_finish": self.query_one("#bell_on_finish", Switch).value,
            "theme": self.query_one("#theme", Select).value,
        }
        model = self.query_one("#default_model", Select).value
        if model is not Select.NULL:
            wanted["default_model"] = model
        return {
            k: v for k, v in wanted.items() if v is not Select.NULL and str(v) != str(getattr(s, k))
        }

    def action_save(self) -> None:
        self.save()

    @work(group="settings-save", exclusive=True, exit_on_error=False)
    async def save(self) -> None:
        from asynccoder_tui.services import settings

        ctx = self.ctx_app.context
        if ctx is None:
            return
        changes = self.changes()
        if not changes:
            self.notify("Nothing changed", timeout=2)
            return
        with self.ctx_app.reporting("save the settings"):
            before = self.ctx_app.settings.worker_concurrency
            self.ctx_app.settings = await settings.save_settings(ctx, changes)
            self.notify(f"Saved: {', '.join(sorted(changes))}", title="Settings")
            if self.ctx_app.settings.worker_concurrency != before:
                await self.ctx_app.restart_workers()

    # -- models and agents ------------------------------------------------------------------

    def action_focus_models(self) -> None:
        self.query_one("#models", ModelTable).focus()

    def action_focus_agents(self) -> None:
        self.query_one("#agents", AgentTable).focus()

    @work(group="settings-catalog", exclusive=True, exit_on_error=False)
    async def reload_catalog(self) -> None:
        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("read the models and agents"):
            await self._show_catalog(ctx, self.query_one("#default_model", Select).value)

    async def _show_catalog(self, ctx: Any, default_model: object) -> None:
        """Fill the models and agents tables and offer the enabled models as the default
        (keeping `default_model` chosen while it is enabled)."""
        from asynccoder_tui.services import agents, models

        available = await models.list_models(ctx, active_only=False)
        self.query_one("#models", ModelTable).show(available)
        self.query_one("#agents", AgentTable).show(await agents.list_agents(ctx))
        options = [(safe(m.name, 40), m.name) for m in available if m.active]
        if isinstance(default_model, str) and default_model not in {n for _, n in options}:
            # Set in the config or environment (a scripted model, one disabled since): shown
            # as it is, so the choice is not "loading…" and saving does not change it.
            options.append(
                (f"{safe(default_model, 40)} (not in the enabled models)", default_model)
            )
        select = self.query_one("#default_model", Select)
        select.set_options(options)
        if isinstance(default_model, str):
            select.value = default_model

    def _edited(self, what: str) -> Callable[[object], None]:
        def done(result: object) -> None:
            if result is not None:
                self.notify(f"Saved {what}; it applies to the next run", title="Settings")
                self.reload_catalog()

        return done

    @on(ModelTable.Edit)
    def _edit_model(self, event: ModelTable.Edit) -> None:
        from asynccoder_tui.services import models

        ctx = self.ctx_app.context
        model = self.query_one("#models", ModelTable).models.get(event.name)
        if ctx is None or model is None:
            return

        async def save(values: dict[str, Any]) -> Any:
            return await models.update_model(ctx, model.name, values)

        self.app.push_screen(ModelEditor(model, save), self._edited(safe(model.name, 40)))

    @on(ModelTable.Add)
    def _add_model(self) -> None:
        from asynccoder_tui.services import models

        ctx = self.ctx_app.context
        if ctx is None:
            return

        async def save(values: dict[str, Any]) -> Any:
            return await models.add_model(ctx, models.NewModel(**values))

        self.app.push_screen(ModelEditor(None, save), self._edited("the new model"))

    @on(ModelTable.Toggle)
    def _toggle_model(self, event: ModelTable.Toggle) -> None:
        model = self.query_one("#models", ModelTable).models.get(event.name)
        if model is not None:
            self.set_model_enabled(model.name, not model.active)

    @work(group="settings-catalog-save", exit_on_error=False)
    async def set_model_enabled(self, name: str, enabled: bool) -> None:
        from asynccoder_tui.services import models

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("change the model"):
            await models.set_enabled(ctx, name, enabled)
            state = "enabled" if enabled else "disabled"
            self.notify(f"{safe(name, 40)} {state}", title="Settings")
            self.reload_catalog()

    @on(AgentTable.Edit)
    def _edit_agent(self, event: AgentTable.Edit) -> None:
        self.open_agent_editor(event.name)

    @work(group="settings-catalog-open", exclusive=True, exit_on_error=False)
    async def open_agent_editor(self, name: str) -> None:
        from asynccoder_tui.services import agents, models

        ctx = self.ctx_app.context
        agent = self.query_one("#agents", AgentTable).agents.get(name)
        if ctx is None or agent is None:
            return
        with self.ctx_app.reporting("open the agent"):
            enabled = [m.name for m in await models.list_models(ctx)]

            async def save(values: dict[str, Any]) -> Any:
                return await agents.update_agent(ctx, agent.name, agents.AgentEdit(**values))

            editor = AgentEditor(agent, enabled, agents.CHOOSABLE_TOOLS, save)
            self.app.push_screen(editor, self._edited(safe(agent.name, 40)))
