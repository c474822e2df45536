"""Small modal dialogs: ask for a line or a paragraph of text, confirm, show an error.

Each returns its answer through `dismiss()` (None when the user backs out with `esc`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea


class TextPrompt(ModalScreen[str | None]):
    """Ask for text: one line (`enter` submits) or several (`ctrl+s` submits)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("ctrl+s", "submit", "Submit", id="dialog.submit"),
    ]

    def __init__(
        self,
        title: str,
        explanation: str = "",
        *,
        placeholder: str = "",
        value: str = "",
        submit: str = "OK",
        multiline: bool = False,
    ) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.explanation = explanation
        self.placeholder = placeholder
        self.value = value
        self.submit_label = submit
        self.multiline = multiline

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            if self.explanation:
                yield Static(Text(self.explanation), classes="dialog-help")
            if self.multiline:
                area = TextArea(
                    self.value, id="prompt-text", soft_wrap=True, show_line_numbers=False
                )
                area.placeholder = self.placeholder
                yield area
            else:
                yield Input(self.value, placeholder=self.placeholder, id="prompt-text")
            with Horizontal(classes="dialog-buttons"):
                yield Static(
                    "ctrl+s submits · esc cancels"
                    if self.multiline
                    else "enter submits · esc cancels",
                    classes="dialog-hint",
                )
                yield Button("Cancel", id="cancel")
                yield Button(self.submit_label, id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#prompt-text").focus()

    def _value(self) -> str:
        widget = self.query_one("#prompt-text")
        if isinstance(widget, TextArea):
            return widget.text
        assert isinstance(widget, Input)
        return widget.value

    def action_submit(self) -> None:
        self.dismiss(self._value())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#prompt-text")
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


class Confirm(ModalScreen[bool]):
    """A yes/no question; `y` or `enter` confirms, `n` or `esc` declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "", *, yes: str = "Yes") -> None:
        super().__init__(classes="dialog-screen")
        self.question = question
        self.detail = detail
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.question, style="bold"), classes="dialog-title")
            if self.detail:
                yield Static(Text(self.detail), classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                verb = "confirms" if self.yes == "Yes" else f"{self.yes.lower()}s"
                yield Static(f"y or enter {verb} · n or esc declines", classes="dialog-hint")
                yield Button("No", id="no")
                yield Button(self.yes, id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ErrorDialog(ModalScreen[None]):
    """An error that needs the user's attention before going on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="error.close"),
    ]

    def __init__(self, title: str, message: str, hint: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -error"):
            yield Label(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(Text(self.message))
            if self.hint:
                yield Static(Text(f"→ {self.hint}", style="italic"), classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                yield Static("", classes="dialog-hint")
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _pressed(self) -> None:
        self.dismiss(None)
