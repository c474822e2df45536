"""Edit a proposed plan: its subtasks as text in one editor, a block per subtask (a header line
`## N. Title  [role: ...]  [after: ...]`, then its prompt), the form `services.plans.plan_text`
writes and `parse_plan_text` reads.

Like the settings editors it knows no service: the pane that opens it hands in `save` (parse the
text, then `plans.edit_plan`), and a refusal (with its line) is shown in the dialog, which stays
open with the text kept. `escape` asks before dropping changes not saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label, Static, TextArea

from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.screens.editor_dialog import EditorDialog

if TYPE_CHECKING:
    from asynccoder_tui.services.plans import PlanView


class PlanEditor(EditorDialog[str, "PlanView"]):
    """The plan of task `task_label` as `text`; `save` is handed the edited text."""

    HELP_TITLE = "Edit plan"

    def __init__(
        self,
        task_label: str,
        text: str,
        help_text: str,
        save: Callable[[str], Awaitable[PlanView]],
    ) -> None:
        super().__init__(save)
        self.task_label = task_label
        self.original = text
        self.help_text = help_text

    def compose(self) -> ComposeResult:
        dialog = Vertical(classes="dialog -wide", id="plan-editor")
        # Inline: the app's `.dialog TextArea` height would outrank DEFAULT_CSS.
        dialog.styles.height = "90%"
        with dialog:
            yield Label(
                Text(f"Edit the plan of task {safe(self.task_label, 40)}", style="bold"),
                classes="dialog-title",
            )
            yield Static(Text(self.help_text), classes="dialog-help")
            area = TextArea(self.original, id="plan-text", soft_wrap=True)
            area.show_line_numbers = True
            area.styles.height = "1fr"
            yield area
            yield Static("", id="editor-error")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s saves · esc closes", classes="dialog-hint")
                yield Button("Cancel", id="editor-cancel")
                yield Button("Save", id="editor-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#plan-text", TextArea).focus()

    @property
    def area(self) -> TextArea:
        return self.query_one("#plan-text", TextArea)

    def values(self) -> str:
        return self.area.text

    @property
    def changed(self) -> bool:
        return self.area.text != self.original

    def action_cancel(self) -> None:
        """Close; ask first when the text was changed and not saved."""
        if not self.changed:
            self.dismiss(None)
            return
        from asynccoder_tui.tui.screens.dialogs import Confirm

        def answered(drop: Any) -> None:
            if drop:
                self.dismiss(None)

        self.app.push_screen(
            Confirm(
                "Drop your changes to the plan?",
                "The plan stays as it was; what you typed here is lost.",
                yes="Drop",
            ),
            answered,
        )
