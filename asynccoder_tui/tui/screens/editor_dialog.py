"""The base of the settings editors (a model, an agent): a modal form that saves through a
callable it is given and stays open, showing the refusal in words, until the save succeeds.

It knows no service: the screen that opens it hands in `save`, which validates and writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from asynccoder_tui.domain.errors import AsyncCoderError
from asynccoder_tui.tui.format import safe

T = TypeVar("T")
R = TypeVar("R")


class EditorDialog(ModalScreen[R | None], Generic[T, R]):
    """Subclasses compose the form (with a `Static#editor-error`) and build a `T` from it.

    The app's stylesheet outranks `DEFAULT_CSS`, so the form uses its own classes
    (`editor-row`, `editor-label`) rather than the shared `form-row` ones."""

    DEFAULT_CSS = """
    EditorDialog #editor-error {
        color: $error;
        height: auto;
        display: none;
    }
    EditorDialog #editor-error.-shown {
        display: block;
    }
    EditorDialog .editor-row {
        height: auto;
        margin-bottom: 1;
    }
    EditorDialog .editor-label {
        width: 20;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("ctrl+s", "save", "Save", id="editor.save"),
    ]

    def __init__(self, save: Callable[[T], Awaitable[R]]) -> None:
        super().__init__(classes="dialog-screen")
        self._save = save
        self.saving = False

    def values(self) -> T:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def show_error(self, message: str) -> None:
        error = self.query_one("#editor-error", Static)
        error.update(Text(message))
        error.set_class(bool(message), "-shown")

    def action_save(self) -> None:
        if not self.saving:
            self.saving = True
            self.run_save(self.values())

    @work(group="editor-save", exclusive=True, exit_on_error=False)
    async def run_save(self, values: T) -> None:
        try:
            saved = await self._save(values)
        except AsyncCoderError as err:
            self.show_error(safe(err.message) + (f"\n→ {safe(err.hint)}" if err.hint else ""))
            return
        except Exception as err:
            self.app.report_error(err, "save the change")  # type: ignore[attr-defined]
            return
        finally:
            self.saving = False
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#editor-save")
    def _save_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#editor-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()
