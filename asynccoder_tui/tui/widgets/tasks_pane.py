"""The tasks pane: the task table with its search box, status filter and sort order.

The pane owns the filter (repository chosen in the repos pane, status, search text, sort) and
asks the table to reload when it changes; the table pages and updates rows itself. The sort
(`o` cycles it) is named in the pane's border title.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import TaskFilter, TaskSort
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.widgets.tasks_table import TasksTable

STATUS_FILTERS: tuple[tuple[TaskStatus, ...], ...] = (
    (),
    (TaskStatus.QUEUED, TaskStatus.RUNNING),
    (TaskStatus.COMPLETED,),
    (TaskStatus.FAILED, TaskStatus.CANCELLED),
)
STATUS_FILTER_NAMES = ("all", "active", "completed", "failed")


class TasksPane(Vertical):
    """Pane 2: the tasks of the selected repository (or all of them)."""

    BORDER_TITLE = "2 Tasks"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "screen.cancel_task", "Cancel", id="tasks.cancel"),
        Binding("r", "screen.retry_task", "Retry", id="tasks.retry"),
        Binding("f", "screen.follow_up", "Follow up", id="tasks.follow_up"),
        Binding("slash", "search", "Search", key_display="/", id="tasks.search"),
        Binding("F", "filter_status", "Status filter", id="tasks.filter_status"),
        Binding("o", "cycle_sort", "Sort", id="tasks.sort"),
        Binding("escape", "clear_search", "Clear search", show=False, id="tasks.clear_search"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.repository_name: str | None = None
        self._status_index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="tasks-filter", classes="pane-filter")
        yield Input(placeholder="search titles and prompts…", id="tasks-search")
        yield TasksTable(id="tasks-table")
        yield Static(
            "No tasks yet. Press n to hand one to an agent.", id="tasks-empty", classes="empty"
        )

    @property
    def table(self) -> TasksTable:
        return self.query_one(TasksTable)

    def on_mount(self) -> None:
        self.query_one("#tasks-search", Input).display = False
        self._show_filter()

    @staticmethod
    def title_for(sort: TaskSort) -> str:
        return f"{TasksPane.BORDER_TITLE} · sort: {sort.value}"

    def focus_main(self) -> None:
        self.table.focus()

    # -- filters ----------------------------------------------------------------------------

    def _show_filter(self) -> None:
        table = self.table
        parts = [f"status: {STATUS_FILTER_NAMES[self._status_index]}"]
        if self.repository_name:
            parts.insert(0, f"repo: {self.repository_name}")
        if table.filters.text:
            parts.append(f"search: {table.filters.text}")
        self.border_title = self.title_for(table.sort_mode)
        count = f"{table.row_count}{'+' if table.has_more else ''} shown"
        self.query_one("#tasks-filter", Static).update(
            Text.assemble((" · ".join(parts), "dim"), "  ", (count, "dim italic"))
        )
        self.query_one("#tasks-empty", Static).display = table.row_count == 0 and not (
            table.loading_page
        )

    def set_repository(self, repository_id: UUID | None, name: str | None) -> None:
        table = self.table
        if table.filters.repository_id == repository_id:
            return
        self.repository_name = safe(name, 40) if name else None
        table.reload(table.with_filters(repository_id=repository_id))
        self._show_filter()

    def action_filter_status(self) -> None:
        self._status_index = (self._status_index + 1) % len(STATUS_FILTERS)
        table = self.table
        table.reload(table.with_filters(statuses=STATUS_FILTERS[self._status_index]))
        self._show_filter()

    def action_cycle_sort(self) -> None:
        mode = self.table.cycle_sort()
        self._show_filter()
        self.notify(f"Tasks sorted by {mode.value}", timeout=2)

    def action_search(self) -> None:
        box = self.query_one("#tasks-search", Input)
        box.display = True
        box.value = self.table.filters.text or ""
        box.focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#tasks-search", Input)
        box.display = False
        if self.table.filters.text:
            self.table.reload(self.table.with_filters(text=None))
        self.table.focus()
        self._show_filter()

    @on(Input.Submitted, "#tasks-search")
    def _search(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip() or None
        self.table.reload(self.table.with_filters(text=text))
        if text is None:
            event.input.display = False
        self.table.focus()
        self._show_filter()

    @on(TasksTable.Loaded)
    def _loaded(self) -> None:
        self._show_filter()

    def reset_filters(self) -> TaskFilter:
        self._status_index = 0
        self.query_one("#tasks-search", Input).display = False
        table = self.table
        return TaskFilter(repository_id=table.filters.repository_id, sort=table.sort_mode)

    def apply(self, tasks: list[Task]) -> None:
        before = self.table.row_count
        self.table.apply(tasks)
        if self.table.row_count != before:
            self._show_filter()
