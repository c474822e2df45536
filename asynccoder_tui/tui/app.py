"""The Textual application.

The first frame paints before the database is reached: connecting (and starting the embedded
server) runs in a worker after mount, and the screen shows a loading state until it is done.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from asynccoder_tui import __version__
from asynccoder_tui.config import Settings
from asynccoder_tui.domain.errors import AsyncCoderError

if TYPE_CHECKING:
    from asynccoder_tui.services.context import AppContext


def styles_dir() -> Path:
    """`styles/` at the repository root in a checkout, `asynccoder_tui/styles` in a wheel."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "styles"
    return installed if installed.is_dir() else package.parent / "styles"


class AsyncCoderApp(App[int]):
    TITLE = "Async Coder"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH = [str(styles_dir() / "app.tcss")]
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.context: AppContext | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Connecting to the database…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.connect()

    @work(exclusive=True, group="database", name="connect")
    async def connect(self) -> None:
        from asynccoder_tui.services.context import AppContext
        from asynccoder_tui.services.repos import count_active

        status = self.query_one("#status", Static)
        try:
            self.context = await AppContext.open(self.settings)
            repos = await count_active(self.context)
            version = await self.context.server_version()
        except AsyncCoderError as err:
            status.update(f"[b red]Database unavailable[/]\n{err}")
            return
        kind = "embedded" if self.context.db.embedded else "DATABASE_URL"
        status.update(
            f"Database ready: PostgreSQL {version} ({kind})\n"
            f"User: {self.context.user.username} · {self.context.user.credits} credits\n"
            f"Repositories: {repos}"
        )

    async def on_unmount(self) -> None:
        if self.context is not None:
            await self.context.close()
