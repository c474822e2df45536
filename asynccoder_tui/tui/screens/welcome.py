"""The first-run welcome: what is missing to work with real agents, and the offline demo.

Returns "demo" (create the sample repository and open a new task on the scripted model),
"settings" (open settings to paste a key) or None (close).
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class WelcomeScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "choose('demo')", "Try the demo", id="welcome.demo"),
        Binding("s", "choose('settings')", "Settings", id="welcome.settings"),
        Binding("escape", "choose(None)", "Close", id="welcome.close"),
    ]

    def __init__(self, state: Any) -> None:
        super().__init__(classes="dialog-screen", id="welcome")
        self.state = state

    def compose(self) -> ComposeResult:
        def mark(ok: bool) -> tuple[str, str]:
            return ("✔ set", "green") if ok else ("✘ missing", "red")

        with Vertical(classes="dialog -wide", id="welcome-dialog"):
            yield Label(Text("Welcome to Async Coder", style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    "Hand coding tasks to AI agents, watch them work, review their diffs hunk by "
                    "hunk and open pull requests, all from the keyboard."
                ),
                classes="dialog-help",
            )
            yield Static(
                Text.assemble(
                    ("Anthropic API key  ", "bold"),
                    mark(self.state.anthropic_key),
                    ("   set ANTHROPIC_API_KEY or paste it in settings\n", "dim"),
                    ("OpenAI API key     ", "bold"),
                    mark(self.state.openai_key),
                    ("   set OPENAI_API_KEY or paste it in settings\n", "dim"),
                    ("GitHub token       ", "bold"),
                    mark(self.state.github_token),
                    ("   GITHUB_TOKEN, `gh auth login`, or settings", "dim"),
                ),
                id="welcome-checks",
            )
            yield Static(
                Text(
                    "No key? Try the demo: it creates a small sample repository and runs a task "
                    "on the scripted model, offline and free, so you can try the whole flow: "
                    "watch the agent, review its diff, follow up.",
                ),
                classes="dialog-help",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Static("d demo · s settings · esc close", classes="dialog-hint")
                yield Button("Close", id="close")
                yield Button("Settings", id="settings")
                yield Button("Try the demo", id="demo", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#demo", Button).focus()

    def action_choose(self, choice: str | None) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "close" else event.button.id)
