"""A settings table of named rows (models, agents): one row a name, the cursor kept on its row
when the table is filled again, and `enter` asking to edit the selected row."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from textual.message import Message
from textual.widgets import DataTable


class NamedRowTable(DataTable[Any]):
    """Rows keyed by name. A subclass defines its own `Edit` message (so its screen's handler
    is named after it) and returns it from `edit_message`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def keep_cursor(self, name: str | None, names: Container[str]) -> None:
        """Put the cursor back on `name` (the row selected before a refill) if it is still there."""
        if name is not None and name in names:
            self.move_cursor(row=self.get_row_index(name))

    def edit_message(self, name: str) -> Message:
        raise NotImplementedError

    def action_edit(self) -> None:
        if self.selected is not None:
            self.post_message(self.edit_message(self.selected))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()
