"""The header line: the product, the user, their credit balance, workers and the connection."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

from asynccoder_tui import __version__
from asynccoder_tui.tui.format import credits, safe


class StatusHeader(Horizontal):
    """One line at the top of the main screen."""

    username: reactive[str | None] = reactive(None)
    balance: reactive[int | None] = reactive(None)
    worker_text: reactive[str] = reactive("")
    connected: reactive[bool | None] = reactive(None)

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble(("Async Coder", "bold"), (f" v{__version__}", "dim")), id="header-title"
        )
        yield Static(id="header-status")

    def _render_status(self) -> None:
        parts: list[tuple[str, str] | str] = []
        if self.username is not None:
            parts += [("user ", "dim"), (safe(self.username, 30), "bold"), "  "]
        if self.balance is not None:
            parts += [(credits(self.balance), "bold"), (" credits", "dim"), "  "]
        if self.worker_text:
            parts += [(self.worker_text, "dim"), "  "]
        if self.connected is None:
            parts.append(("◌ connecting", "dim"))
        elif self.connected:
            parts.append(("● live", "green"))
        else:
            parts.append(("○ offline", "red"))
        self.query_one("#header-status", Static).update(Text.assemble(*parts))

    def on_mount(self) -> None:
        self._render_status()

    def watch_username(self) -> None:
        self._render_if_mounted()

    def watch_balance(self) -> None:
        self._render_if_mounted()

    def watch_worker_text(self) -> None:
        self._render_if_mounted()

    def watch_connected(self) -> None:
        self._render_if_mounted()

    def _render_if_mounted(self) -> None:
        if self.is_mounted:
            self._render_status()
