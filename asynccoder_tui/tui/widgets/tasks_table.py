"""`TasksTable`: the task list, paged from the database as the user scrolls.

Rows are fetched a page at a time with keyset pagination in the filter's sort (`TaskSort`: the
sort values of the last row are the next page's cursor), when the cursor or the scroll position
comes within `PREFETCH_ROWS` of the last loaded row: opening a list of 1,000,000 tasks costs one
page, in any sort. The database sorts; the table only keeps its loaded rows in the same order.

Live updates go through `apply()`: a loaded row is updated in place (and moves if its sort
value changed; it leaves the table when it moves past the loaded range), a new task that
belongs in the loaded range is inserted in order, and the cursor stays on the task it was on.
Running tasks show a spinner. A plan's parent shows its children's progress beside its title,
re-read when one of its children changes status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import (
    TaskFilter,
    TaskPageCursor,
    TaskSort,
    comes_before,
    sort_key,
)
from asynccoder_tui.tui.format import STATUS_ICON, STATUS_STYLE, age, money, safe, spinner_frame
from asynccoder_tui.tui.widgets.tasks_cells import StatusCell, matches, pr_cell, title_cell

PAGE_SIZE = 100
PREFETCH_ROWS = 40
COLUMNS = (
    ("status", "Status"),
    ("title", "Title"),
    ("age", "Age"),
    ("cost", "Cost"),
    ("diff", "Diff"),
    ("pr", "PR"),
    ("mode", "Mode"),
    ("model", "Model"),
)
PARENT_REFRESH_DELAY = 0.3

PageFetcher = Callable[[TaskFilter, TaskPageCursor | None, int], Awaitable[list[Task]]]


class TasksTable(DataTable[object]):
    """Tasks in the filter's sort (newest first by default), loaded page by page, updated live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="tasks.down"),
        Binding("k", "cursor_up", "Up", show=False, id="tasks.up"),
        Binding("g", "scroll_top", "Top", show=False, id="tasks.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="tasks.bottom"),
    ]

    class TaskHighlighted(Message):
        """The cursor is on `task` (None: the list is empty)."""

        def __init__(self, table: TasksTable, task: Task | None) -> None:
            super().__init__()
            self.table = table
            self.task = task

        @property
        def control(self) -> TasksTable:
            return self.table

    class Loaded(Message):
        """A page arrived (or the list was reloaded)."""

        def __init__(self, table: TasksTable, rows: int, more: bool) -> None:
            super().__init__()
            self.table = table
            self.rows = rows
            self.more = more

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.fetch_page: PageFetcher | None = None
        self.clock: Callable[[], datetime] | None = None
        self.spin = True
        self.filters = TaskFilter()
        self._tasks: dict[str, Task] = {}
        self._spinning: set[str] = set()
        self._next: TaskPageCursor | None = None
        self._has_more = False
        self._loading = False
        self._tick = 0
        self._highlighted: str | None = None
        self._child_status: dict[str, TaskStatus] = {}
        """Last status seen of each child of a loaded plan parent (a change re-reads it)."""
        self._stale_parents: set[UUID] = set()
        self.pages_loaded = 0

    # -- state ------------------------------------------------------------------------------

    @property
    def sort_mode(self) -> TaskSort:
        return self.filters.sort

    @property
    def loading_page(self) -> bool:
        return self._loading

    @property
    def has_more(self) -> bool:
        return self._has_more

    @property
    def tasks(self) -> list[Task]:
        """Loaded tasks in display order."""
        out = []
        for row in self.ordered_rows:
            task = self._tasks.get(str(row.key.value))
            if task is not None:
                out.append(task)
        return out

    def loaded_task(self, task_id: UUID | str) -> Task | None:
        return self._tasks.get(str(task_id))

    @property
    def current_task(self) -> Task | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return self._tasks.get(str(key.value))

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self.set_interval(0.1, self._spin)
        self.set_interval(15, self._refresh_ages)

    def _now(self) -> datetime:
        if self.clock is not None:
            return self.clock()
        from datetime import UTC

        return datetime.now(UTC)

    # -- rows -------------------------------------------------------------------------------

    def _order(self, task: Task) -> tuple[object, ...]:
        return sort_key(task, self.filters.sort)

    def _status_cell(self, task: Task) -> StatusCell:
        icon = STATUS_ICON[task.status]
        if task.status is TaskStatus.RUNNING and self.spin:
            icon = spinner_frame(self._tick)
        label = "cancelling" if task.cancel_requested and not task.status.is_final else None
        text = Text(f"{icon} {label or task.status.value}", style=STATUS_STYLE[task.status])
        return StatusCell(text, self._order(task))

    def _cells(self, task: Task) -> list[object]:
        diff = (
            Text.assemble((f"+{task.lines_added}", "green"), " ", (f"-{task.lines_removed}", "red"))
            if task.files_changed
            else Text("")
        )
        return [
            self._status_cell(task),
            title_cell(task),
            Text(age(task.created_at, self._now()), justify="right"),
            Text(money(task.cost), justify="right"),
            diff,
            pr_cell(task),
            Text(task.mode.value),
            Text(safe(task.model, 24)),
        ]

    def _add(self, task: Task) -> None:
        key = str(task.id)
        self._tasks[key] = task
        if task.parent_id is not None:
            self._child_status[key] = task.status
        if task.status is TaskStatus.RUNNING:
            self._spinning.add(key)
        self.add_row(*self._cells(task), key=key)

    def _update(self, task: Task) -> None:
        key = str(task.id)
        self._tasks[key] = task
        if task.status is TaskStatus.RUNNING:
            self._spinning.add(key)
        else:
            self._spinning.discard(key)
        for (column, _), value in zip(COLUMNS, self._cells(task), strict=True):
            self.update_cell(key, column, value, update_width=True)

    def _restore_cursor(self, key: str | None) -> None:
        if key is None or key not in self._tasks:
            return
        try:
            row = self.get_row_index(key)
        except RowDoesNotExist:
            return
        if row != self.cursor_row:
            self.move_cursor(row=row, animate=False, scroll=True)

    def _sort(self) -> None:
        self.sort(
            "status",
            key=lambda cell: getattr(cell, "order", ()),
            reverse=self.filters.sort.descending,
        )

    # -- loading ----------------------------------------------------------------------------

    def reload(self, filters: TaskFilter | None = None, *, anchor: Task | None = None) -> None:
        """Show the first page for `filters` (or start at `anchor`, with older tasks below)."""
        if filters is not None:
            self.filters = filters
        keep = str(anchor.id) if anchor is not None else self._highlighted
        self._load(reset=True, keep=keep, anchor=anchor)

    def load_more(self) -> None:
        if self._has_more and not self._loading:
            self._load(reset=False)

    @work(group="tasks-page", exclusive=True, exit_on_error=False)
    async def _load(
        self, *, reset: bool, keep: str | None = None, anchor: Task | None = None
    ) -> None:
        if self.fetch_page is None:
            return
        self._loading = True
        try:
            after = self._next
            if reset:
                after = (
                    TaskPageCursor.after(anchor, self.filters.sort)
                    if anchor is not None and anchor.created_at is not None
                    else None
                )
            with self.app.reporting("load tasks"):  # type: ignore[attr-defined]
                rows = await self.fetch_page(self.filters, after, PAGE_SIZE)
                if reset:
                    self.clear()
                    self._tasks.clear()
                    self._spinning.clear()
                    self._next = None
                    self.pages_loaded = 0
                    if anchor is not None:
                        self._add(anchor)
                self._append(rows)
                if reset:
                    self._highlighted = None
                    if keep is not None and keep in self._tasks:
                        self._restore_cursor(keep)
                    elif self.row_count:
                        self.move_cursor(row=0, animate=False)
                    self._announce()
        finally:
            self._loading = False
        self.post_message(self.Loaded(self, self.row_count, self._has_more))
        self._maybe_prefetch()

    def _append(self, rows: list[Task]) -> None:
        fresh = [t for t in rows if str(t.id) not in self._tasks]
        in_order = self._follows_loaded(fresh)
        for task in fresh:
            self._add(task)
        if rows:
            self._next = TaskPageCursor.after(rows[-1], self.filters.sort)
        self._has_more = len(rows) >= PAGE_SIZE
        self.pages_loaded += 1
        if not in_order:
            key = self._highlighted
            self._sort()
            self._restore_cursor(key)

    def _follows_loaded(self, rows: list[Task]) -> bool:
        """Whether `rows` (in sort order) all belong below the loaded rows: true of a page,
        unless a live update moved a loaded row past the page's start."""
        if not rows or not self.row_count:
            return True
        last = self._tasks.get(str(self.ordered_rows[-1].key.value))
        if last is None:
            return False
        return comes_before(last, TaskPageCursor.after(rows[0], self.filters.sort))

    def _maybe_prefetch(self) -> None:
        if not self._has_more or self._loading:
            return
        bottom_visible = int(self.scroll_y) + self.size.height
        if max(self.cursor_row, bottom_visible) >= self.row_count - PREFETCH_ROWS:
            self.load_more()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._maybe_prefetch()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce()
        self._maybe_prefetch()

    def _announce(self) -> None:
        task = self.current_task
        key = str(task.id) if task else None
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.TaskHighlighted(self, task))

    # -- live updates -----------------------------------------------------------------------

    def apply(self, tasks: Iterable[Task]) -> None:
        """Show changed or new tasks, keeping the cursor on its task."""
        keep = self._highlighted
        moved = False
        for task in tasks:
            key = str(task.id)
            self._note_child(task)
            old = self._tasks.get(key)
            if old is not None:
                if self._order(old) != self._order(task):
                    if key != keep and not self._in_loaded_range(task):
                        self.forget(task.id)  # the next page brings it back in its place
                        continue
                    moved = True
                self._update(task)
            elif matches(self.filters, task) and self._in_loaded_range(task):
                self._add(task)
                moved = True
        if moved:
            self._sort()
            self._restore_cursor(keep)
            if keep is None:
                self._announce()

    def _in_loaded_range(self, task: Task) -> bool:
        if not self._has_more or self._next is None or task.created_at is None:
            return True
        return comes_before(task, self._next)

    # -- plan progress ----------------------------------------------------------------------

    def _note_child(self, task: Task) -> None:
        """A child of a loaded parent changed status: re-read the parent (its progress)."""
        if task.parent_id is None or str(task.parent_id) not in self._tasks:
            return
        key = str(task.id)
        if self._child_status.get(key) is task.status:
            return
        self._child_status[key] = task.status
        if not self._stale_parents:
            self.set_timer(PARENT_REFRESH_DELAY, self._refresh_parents)
        self._stale_parents.add(task.parent_id)

    def _refresh_parents(self) -> None:
        ids, self._stale_parents = tuple(self._stale_parents), set()
        if ids:
            self._read_parents(ids)

    @work(group="tasks-parents", exit_on_error=False)
    async def _read_parents(self, ids: tuple[UUID, ...]) -> None:
        if self.fetch_page is None:
            return
        with self.app.reporting("refresh plan progress"):  # type: ignore[attr-defined]
            rows = await self.fetch_page(TaskFilter(ids=ids), None, len(ids))
            self.apply(rows)

    def forget(self, task_id: UUID) -> None:
        key = str(task_id)
        if key in self._tasks:
            del self._tasks[key]
            self._spinning.discard(key)
            self.remove_row(key)

    def cycle_sort(self) -> TaskSort:
        """Show the list in the next sort, read from its first page (the cursor stays on its
        task when the task is on that page)."""
        self.reload(self.with_filters(sort=self.filters.sort.next()))
        return self.filters.sort

    def with_filters(self, **changes: object) -> TaskFilter:
        return replace(self.filters, **changes)  # type: ignore[arg-type]

    # -- timers -----------------------------------------------------------------------------

    def _spin(self) -> None:
        if not self._spinning or not self.spin:
            return
        self._tick += 1
        for key in list(self._spinning):
            task = self._tasks.get(key)
            if task is not None:
                self.update_cell(key, "status", self._status_cell(task))

    def _refresh_ages(self) -> None:
        top = int(self.scroll_y)
        now = self._now()
        for row in self.ordered_rows[top : top + self.size.height + 1]:
            task = self._tasks.get(str(row.key.value))
            if task is not None:
                self.update_cell(row.key, "age", Text(age(task.created_at, now), justify="right"))
