"""A one-line banner across the main screen, shown while the database is out of reach."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Banner(Static):
    """Hidden until `show()`; `hide()` takes it away."""

    def on_mount(self) -> None:
        self.display = False

    @property
    def shown(self) -> bool:
        return bool(self.display)

    def show(self, message: str) -> None:
        self.update(Text(message))
        self.display = True

    def hide(self) -> None:
        self.display = False
