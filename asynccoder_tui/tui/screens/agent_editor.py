"""Agents in settings: the table of agent roles and the dialog that edits one agent's system
prompt (a multi-line editor), default model (one of the enabled models), allowed tools
(checkboxes) and enabled flag.

The dialog only gathers what is set; the save callable it is given (the settings screen's,
which calls `services.agents`) validates and writes, and a refusal is shown in the dialog.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Label, Select, Static, TextArea

from asynccoder_tui.domain.models import Agent
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.screens.editor_dialog import EditorDialog
from asynccoder_tui.tui.screens.named_table import NamedRowTable

# The values the dialog hands to its save callable.
AgentValues = dict[str, Any]


def tools_text(agent: Agent) -> str:
    if agent.allowed_tools is None:
        return "all of the mode's"
    return ", ".join(t for t in agent.allowed_tools if t != "finish") or "finish only"


def first_line(text: str, width: int = 48) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return safe(line, width)


class AgentTable(NamedRowTable):
    """The agents, one row each (keyed by name); `enter` or `e` asks to edit the selected one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit agent", id="agents.edit"),
        Binding("j", "cursor_down", "Down", show=False, id="agents.down"),
        Binding("k", "cursor_up", "Up", show=False, id="agents.up"),
    ]

    class Edit(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agents: dict[str, Agent] = {}

    def on_mount(self) -> None:
        self.add_columns("Role", "Name", "Default model", "Tools", "Enabled", "System prompt")

    def show(self, agents: list[Agent]) -> None:
        selected = self.selected
        self.clear()
        self.agents = {a.name: a for a in agents}
        for a in agents:
            self.add_row(
                Text(a.kind.value),
                Text(safe(a.name, 24)),
                Text(safe(a.default_model or "task's model", 24)),
                Text(safe(tools_text(a), 40)),
                Text("yes" if a.active else "no", style="" if a.active else "dim"),
                Text(first_line(a.system_prompt), style="dim"),
                key=a.name,
            )
        self.keep_cursor(selected, self.agents)

    def edit_message(self, name: str) -> Message:
        return self.Edit(name)


class AgentEditor(EditorDialog[AgentValues, Agent]):
    """Edit one agent. `models` are the enabled models' names; `tools` the tools one may allow."""

    # The app's stylesheet (`.dialog`, `.form-row`...) wins over these; they only add.
    DEFAULT_CSS = """
    AgentEditor #tools Checkbox {
        width: auto;
        margin-right: 1;
    }
    """

    def __init__(
        self, agent: Agent, models: Sequence[str], tools: Sequence[str], save: Any
    ) -> None:
        super().__init__(save)
        self.agent = agent
        self.models = list(models)
        self.tools = list(tools)

    def compose(self) -> ComposeResult:
        a = self.agent
        allowed = set(self.tools if a.allowed_tools is None else a.allowed_tools)
        options = [(safe(name, 40), name) for name in self.models]
        if a.default_model and a.default_model not in self.models:
            options.append((f"{safe(a.default_model, 40)} (disabled)", a.default_model))
        with Vertical(classes="dialog -wide", id="agent-editor"):
            yield Label(
                Text(f"Edit agent {safe(a.name, 40)} ({a.kind.value})", style="bold"),
                classes="dialog-title",
            )
            yield Static(
                Text(
                    "The system prompt says who this agent is; tools narrow what a task's mode "
                    "allows (finish is always allowed). Changes apply to the next run."
                ),
                classes="dialog-help",
            )
            yield Label("System prompt", classes="form-caption")
            area = TextArea(a.system_prompt, id="system_prompt", soft_wrap=True)
            area.show_line_numbers = False
            yield area
            with Horizontal(classes="editor-row"):
                yield Label("Default model", classes="editor-label")
                yield Select[str](
                    options,
                    value=a.default_model if a.default_model else Select.NULL,
                    allow_blank=True,
                    prompt="the task's model",
                    id="default_model",
                    compact=True,
                )
            with Horizontal(classes="editor-row", id="tools"):
                yield Label("Tools", classes="editor-label")
                for tool in self.tools:
                    yield Checkbox(tool, tool in allowed, id=f"tool-{tool}", compact=True)
            with Horizontal(classes="editor-row"):
                yield Label("Enabled", classes="editor-label")
                yield Checkbox(
                    "used by its role's tasks (when off, they run with the built-in prompt)",
                    a.active,
                    id="active",
                    compact=True,
                )
            yield Static("", id="editor-error")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s saves · esc cancels", classes="dialog-hint")
                yield Button("Cancel", id="editor-cancel")
                yield Button("Save", id="editor-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#system_prompt", TextArea).focus()

    def values(self) -> AgentValues:
        model = self.query_one("#default_model", Select).value
        return {
            "system_prompt": self.query_one("#system_prompt", TextArea).text,
            "default_model": None if model is Select.NULL else str(model),
            "allowed_tools": [
                t for t in self.tools if self.query_one(f"#tool-{t}", Checkbox).value
            ],
            "active": self.query_one("#active", Checkbox).value,
        }
