"""The repos pane: local and GitHub repositories with their default branch and open tasks.

The first row, "All repositories", clears the tasks pane's filter; moving the cursor onto a
repository filters the tasks pane to it. The pane carries out its own actions (add, sync,
archive with undo, filter, the repository's settings dialog) through the services and reports
failures through the app.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, ProgressBar

from asynccoder_tui.domain.models import Repository
from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp

ALL = "*"


class ReposTable(DataTable[object]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="repos.down"),
        Binding("k", "cursor_up", "Up", show=False, id="repos.up"),
    ]


class ReposPane(Vertical):
    """Pane 1: repositories."""

    BORDER_TITLE = "1 Repos"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add", id="repos.add"),
        Binding("s", "sync", "Sync GitHub", id="repos.sync"),
        Binding("d", "archive", "Archive", id="repos.archive"),
        Binding("z", "undo_archive", "Undo archive", id="repos.undo_archive"),
        Binding("e", "settings", "Settings", id="repos.settings"),
        Binding("slash", "filter", "Filter", key_display="/", id="repos.filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="repos.clear_filter"),
    ]

    class Selected(Message):
        """The cursor is on a repository (None: all repositories)."""

        def __init__(self, repository: Repository | None) -> None:
            super().__init__()
            self.repository = repository

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.repositories: dict[str, Repository] = {}
        self.open_tasks: dict[str, int] = {}
        self.filter_text: str | None = None
        self._archived: list[Repository] = []
        self._selected: str | None = ALL

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter repositories…", id="repos-filter")
        yield ProgressBar(id="repos-sync", show_eta=False)
        yield ReposTable(id="repos-table", cursor_type="row")

    @property
    def table(self) -> ReposTable:
        return self.query_one(ReposTable)

    def on_mount(self) -> None:
        self.query_one("#repos-filter", Input).display = False
        self.query_one("#repos-sync", ProgressBar).display = False
        self.table.add_column("Repository", key="name")
        self.table.add_column("Branch", key="branch")
        self.table.add_column("Open", key="open")

    def focus_main(self) -> None:
        self.table.focus()

    def first_repository(self) -> Repository | None:
        return next(iter(self.repositories.values()), None)

    @property
    def selected(self) -> Repository | None:
        return self.repositories.get(self._selected or ALL)

    # -- loading ----------------------------------------------------------------------------

    @work(group="repos", exclusive=True, exit_on_error=False)
    async def reload(self, select: UUID | None = None) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("load repositories"):
            rows = await repos.list_repos(ctx, text=self.filter_text)
            self._show(rows, str(select) if select else self._selected)

    def _show(self, rows: list[Any], keep: str | None) -> None:
        table = self.table
        table.clear()
        self.repositories = {}
        self.open_tasks = {}
        total = sum(row.open_tasks for row in rows)
        table.add_row(
            Text("All repositories", style="bold"),
            Text(""),
            Text(str(total) if total else "", justify="right"),
            key=ALL,
        )
        for row in rows:
            repo: Repository = row.repository
            key = str(repo.id)
            self.repositories[key] = repo
            self.open_tasks[key] = row.open_tasks
            kind = Text(" gh", style="dim") if repo.full_name else Text(" local", style="dim")
            table.add_row(
                Text.assemble(safe(repo.display_name, 40), kind),
                Text(safe(repo.default_branch, 24), style="dim"),
                Text(str(row.open_tasks) if row.open_tasks else "", justify="right"),
                key=key,
            )
        target = keep if keep in self.repositories else ALL
        table.move_cursor(row=table.get_row_index(target), animate=False)
        self._announce(target)

    @on(DataTable.RowHighlighted, "#repos-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce(str(event.row_key.value))

    def _announce(self, key: str) -> None:
        if key != self._selected:
            self._selected = key
            self.post_message(self.Selected(self.repositories.get(key)))

    # -- actions ----------------------------------------------------------------------------

    def action_add(self) -> None:
        from asynccoder_tui.tui.screens.dialogs import TextPrompt

        self.app.push_screen(
            TextPrompt(
                "Add a repository",
                "A local git checkout (path) or a GitHub repository (owner/name or URL).",
                placeholder="~/src/project or octocat/hello-world",
                submit="Add",
            ),
            self._add_given,
        )

    def _add_given(self, value: str | None) -> None:
        if value and value.strip():
            self.add_repository(value.strip())

    @work(group="repos-add", exit_on_error=False)
    async def add_repository(self, ref: str) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("add the repository"):
            repo = await repos.add_repo(ctx, ref)
            self.notify(f"Added {safe(repo.display_name)}", title="Repositories", markup=False)
            self.reload(select=repo.id)

    def action_sync(self) -> None:
        self.sync()

    @work(group="repos-sync", exclusive=True, exit_on_error=False)
    async def sync(self) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        bar = self.query_one("#repos-sync", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True

        def progress(done: int, total: int) -> None:
            bar.update(total=total, progress=done)

        try:
            with self.ctx_app.reporting("sync from GitHub"):
                result = await repos.sync_github(ctx, progress=progress)
                self.notify(f"Synced {result.seen} GitHub repositories", title="Repositories")
                self.reload()
        finally:
            await asyncio.sleep(0.3)
            bar.display = False

    def action_archive(self) -> None:
        repo = self.selected
        if repo is None:
            self.app.bell()
            return
        self.archive(repo)

    @work(group="repos-archive", exit_on_error=False)
    async def archive(self, repo: Repository) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("archive the repository"):
            await repos.archive(ctx, repo.id)
            self._archived.append(repo)
            self.notify(
                f"Archived {safe(repo.display_name)}. Press z to undo.",
                title="Repositories",
                markup=False,
            )
            self.reload()

    @work(group="repos-archive", exit_on_error=False)
    async def action_undo_archive(self) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None or not self._archived:
            self.app.bell()
            return
        repo = self._archived.pop()
        with self.ctx_app.reporting("restore the repository"):
            await repos.restore(ctx, repo.id)
            self.notify(f"Restored {safe(repo.display_name)}", title="Repositories", markup=False)
            self.reload(select=repo.id)

    def action_settings(self) -> None:
        repo = self.selected
        if repo is None:
            self.app.bell()
            return
        self.open_settings(repo)

    @work(group="repos-settings", exclusive=True, exit_on_error=False)
    async def open_settings(self, repo: Repository) -> None:
        from asynccoder_tui.services import models, repos
        from asynccoder_tui.tui.screens.repo_settings import RepoSettingsDialog

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("read the repository's settings"):
            current = await repos.repo_settings(ctx, repo.id)
            names = [m.name for m in await models.list_models(ctx)]

            async def save(values: dict[str, Any]) -> repos.EffectiveRepoSettings:
                return await repos.update_repo_settings(ctx, repo.id, **values)

            def saved(result: object) -> None:
                if result is not None:
                    self.notify(
                        f"Saved the settings of {safe(repo.display_name)}",
                        title="Repositories",
                        markup=False,
                    )

            self.app.push_screen(RepoSettingsDialog(repo, current, names, save), saved)

    def action_filter(self) -> None:
        box = self.query_one("#repos-filter", Input)
        box.display = True
        box.value = self.filter_text or ""
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#repos-filter", Input)
        box.display = False
        if self.filter_text:
            self.filter_text = None
            self.reload()
        self.table.focus()

    @on(Input.Changed, "#repos-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip() or None
        self.reload()

    @on(Input.Submitted, "#repos-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.display = False
        self.table.focus()
