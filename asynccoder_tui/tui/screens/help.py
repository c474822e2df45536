"""Help (`?`): every binding of the screen it was opened from, grouped by pane, with the keys as
remapped in the config file and the id to remap them by."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from asynccoder_tui.tui.bindings import binding_rows
from asynccoder_tui.tui.screens.registry import screen_groups


class HelpGroups(ScrollableContainer):
    """The groups of keys, two a row; focused, so the arrows, `j`/`k`, page and home/end keys
    scroll it when it does not fit the terminal."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="help.down"),
        Binding("k", "scroll_up", "Up", show=False, id="help.up"),
    ]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, screen: Any) -> None:
        super().__init__(classes="dialog-screen", id="help")
        self.for_screen = screen

    def _groups(self) -> list[tuple[str, Table]]:
        """Each group of the screen's bindings (title, table of keys, description and id)."""
        keymap: dict[str, str] = dict(getattr(self.app, "_keymap", {}) or {})
        groups = []
        for title, classes in screen_groups(self.for_screen):
            rows = []
            seen: set[str] = set()
            for cls in classes:
                for row in binding_rows(getattr(cls, "BINDINGS", []), keymap):
                    if (row.keys, row.description) not in seen:
                        seen.add((row.keys, row.description))  # type: ignore[arg-type]
                        rows.append(row)
            if not rows:
                continue
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", min_width=12)
            table.add_column(min_width=24)
            table.add_column(style="dim")
            for row in rows:
                table.add_row(Text(row.keys), Text(row.description), Text(row.id))
            groups.append((title, table))
        return groups

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="help-dialog"):
            yield Label(Text("Keys", style="bold"), classes="dialog-title")
            groups = self._groups()
            with HelpGroups(id="help-groups"):
                for first in range(0, len(groups), 2):
                    with Horizontal(classes="help-row"):
                        for title, table in groups[first : first + 2]:
                            with Vertical(classes="help-group"):
                                yield Label(
                                    Text(title, style="bold underline"), classes="help-group-title"
                                )
                                yield Static(table, classes="help-table")
            yield Static(
                Text(
                    "ctrl+p opens the command palette (every action, and jump to a repository "
                    'or task by name). Remap keys in the config file: [keybindings] id = "keys".',
                    style="dim",
                ),
                classes="dialog-help",
            )

    def on_mount(self) -> None:
        self.query_one(HelpGroups).focus()

    def action_close(self) -> None:
        self.dismiss(None)
