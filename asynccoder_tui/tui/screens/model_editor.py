"""Models in settings: the table of models with its keys (edit, add, enable/disable) and the
dialog that edits one model's prices, limits, base URL and enabled flag, or adds a model.

The dialog only gathers what is typed; the save callable it is given (the settings screen's,
which calls `services.models`) validates and writes, and a refusal is shown in the dialog.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from asynccoder_tui.domain.models import AIModel
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.screens.editor_dialog import EditorDialog
from asynccoder_tui.tui.screens.named_table import NamedRowTable

PROVIDERS = (
    ("Anthropic", "anthropic"),
    ("OpenAI", "openai"),
    ("OpenAI-compatible (local: Ollama, vLLM, LM Studio)", "openai_compatible"),
)
PRICES = (
    ("input_price", "Input $/M"),
    ("output_price", "Output $/M"),
    ("cache_read_price", "Cache read $/M"),
    ("cache_write_price", "Cache write $/M"),
)


def price(value: Decimal) -> str:
    """A price per million tokens without trailing zeros: 3, 0.075, 1.25."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class ModelTable(NamedRowTable):
    """The models, one row each (keyed by name); it asks its screen to edit, add or toggle."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit model", id="models.edit"),
        Binding("j", "cursor_down", "Down", show=False, id="models.down"),
        Binding("k", "cursor_up", "Up", show=False, id="models.up"),
        Binding("a", "add", "Add model", id="models.add"),
        Binding("space", "toggle_enabled", "Enable/disable", id="models.toggle"),
    ]

    class Edit(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Add(Message):
        pass

    class Toggle(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models: dict[str, AIModel] = {}

    def on_mount(self) -> None:
        self.add_columns(
            "Model", "Provider", "Name", "Input", "Output", "Cache read", "Cache write",
            "Context", "Enabled",
        )  # fmt: skip

    def show(self, models: list[AIModel]) -> None:
        selected = self.selected
        self.clear()
        self.models = {m.name: m for m in models}
        for m in models:
            self.add_row(
                Text(safe(m.name, 30)),
                Text(m.provider.value),
                Text(safe(m.display_name, 30)),
                Text(price(m.input_price), justify="right"),
                Text(price(m.output_price), justify="right"),
                Text(price(m.cache_read_price), justify="right"),
                Text(price(m.cache_write_price), justify="right"),
                Text(f"{m.context_window:,}", justify="right"),
                Text("yes" if m.active else "no", style="" if m.active else "dim"),
                key=m.name,
            )
        self.keep_cursor(selected, self.models)

    def edit_message(self, name: str) -> Message:
        return self.Edit(name)

    def action_add(self) -> None:
        self.post_message(self.Add())

    def action_toggle_enabled(self) -> None:
        if self.selected is not None:
            self.post_message(self.Toggle(self.selected))


class ModelEditor(EditorDialog[dict[str, Any], AIModel]):
    """Edit one model (`model` given) or add one (`model` None). Its values are the fields as
    typed, keyed as `services.models` expects them."""

    DEFAULT_CSS = """
    ModelEditor .editor-row Input {
        width: 1fr;
    }
    """

    def __init__(self, model: AIModel | None, save: Any) -> None:
        super().__init__(save)
        self.model = model

    def compose(self) -> ComposeResult:
        m = self.model
        title = f"Edit model {safe(m.name, 60)} ({m.provider.value})" if m else "Add a model"
        with Vertical(classes="dialog", id="model-editor"):
            yield Label(Text(title, style="bold"), classes="dialog-title")
            yield Static(
                Text("Prices are US dollars per million tokens; they apply to the next run."),
                classes="dialog-help",
            )
            if m is None:
                with Horizontal(classes="editor-row"):
                    yield Label("Provider", classes="editor-label")
                    yield Select[str](
                        [(label, value) for label, value in PROVIDERS],
                        value="openai_compatible",
                        allow_blank=False,
                        id="provider",
                        compact=True,
                    )
                with Horizontal(classes="editor-row"):
                    yield Label("Model id", classes="editor-label")
                    yield Input(
                        placeholder="the provider's id, e.g. qwen3:8b", id="name", compact=True
                    )
            with Horizontal(classes="editor-row"):
                yield Label("Display name", classes="editor-label")
                yield Input(
                    m.display_name if m else "",
                    placeholder="optional",
                    id="display_name",
                    compact=True,
                )
            for field, label in PRICES:
                with Horizontal(classes="editor-row"):
                    yield Label(label, classes="editor-label")
                    value = price(getattr(m, field)) if m else "0"
                    yield Input(value, id=field, compact=True)
            with Horizontal(classes="editor-row"):
                yield Label("Context window", classes="editor-label")
                yield Input(
                    str(m.context_window if m else 128_000), id="context_window", compact=True
                )
            with Horizontal(classes="editor-row"):
                yield Label("Max output", classes="editor-label")
                yield Input(str(m.max_output if m else 8_192), id="max_output", compact=True)
            with Horizontal(classes="editor-row"):
                yield Label("Base URL", classes="editor-label")
                yield Input(
                    (m.base_url or "") if m else "",
                    placeholder="the provider's own; a local server's, e.g. http://localhost:11434/v1",
                    id="base_url",
                    compact=True,
                )
            if m is not None:
                with Horizontal(classes="editor-row"):
                    yield Label("Enabled", classes="editor-label")
                    yield Checkbox("offered for new tasks", m.active, id="active", compact=True)
            yield Static("", id="editor-error")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s saves · esc cancels", classes="dialog-hint")
                yield Button("Cancel", id="editor-cancel")
                yield Button("Save", id="editor-save", variant="primary")

    def on_mount(self) -> None:
        first = "#name" if self.model is None else "#input_price"
        self.query_one(first, Input).focus()

    def values(self) -> dict[str, Any]:
        fields = ["display_name", *(f for f, _ in PRICES), "context_window", "max_output"]
        data: dict[str, Any] = {f: self.query_one(f"#{f}", Input).value for f in fields}
        data["base_url"] = self.query_one("#base_url", Input).value
        if self.model is None:
            data["provider"] = str(self.query_one("#provider", Select).value)
            data["name"] = self.query_one("#name", Input).value
        else:
            data["active"] = self.query_one("#active", Checkbox).value
        return data
