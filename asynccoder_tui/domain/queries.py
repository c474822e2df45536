"""Query shapes shared by the screens, the CLI and the data layer: task filters, sorts, cursors.

Each sort of the task list is a keyset order: a tuple of row values read in one direction
(`TaskSort.descending`), ending in the task id so that every row has its own place. The data
layer pages with `(key) < (cursor key)` (or `>`); the screens use `sort_key` to put a live
update in the same place the database would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from asynccoder_tui.domain.enums import TaskMode, TaskStatus
from asynccoder_tui.domain.models import Task


class TaskSort(StrEnum):
    NEWEST = "newest"
    """Created most recently first."""
    OLDEST = "oldest"
    STATUS = "status"
    """Running, then queued, failed, cancelled, completed; newest first within each."""
    COST = "cost"
    """Highest cost first; equal costs by id."""
    UPDATED = "updated"
    """Changed most recently first: status, cost, diff size or title (`Task.changed_at`)."""

    @property
    def descending(self) -> bool:
        return self is not TaskSort.OLDEST

    def next(self) -> TaskSort:
        members = list(TaskSort)
        return members[(members.index(self) + 1) % len(members)]


STATUS_RANK: dict[TaskStatus, int] = {
    TaskStatus.RUNNING: 4,
    TaskStatus.QUEUED: 3,
    TaskStatus.FAILED: 2,
    TaskStatus.CANCELLED: 1,
    TaskStatus.COMPLETED: 0,
}
"""The status sort's order, highest first; the same numbers as SQL `task_status_rank()`."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SortKey = tuple[object, ...]


@dataclass(frozen=True)
class TaskPageCursor:
    """Keyset position: the sort values of the last row seen (`created_at` and `id` always;
    `rank`, `cost` or `changed_at` for the sorts that lead with them)."""

    created_at: datetime
    id: UUID
    sort: TaskSort = TaskSort.NEWEST
    rank: int = 0
    cost: Decimal = Decimal(0)
    changed_at: datetime | None = None

    @classmethod
    def after(cls, task: Task, sort: TaskSort = TaskSort.NEWEST) -> TaskPageCursor:
        """The cursor that continues a `sort` list after `task`."""
        return cls(
            created_at=task.created_at or _EPOCH,
            id=task.id,
            sort=sort,
            rank=STATUS_RANK[task.status],
            cost=task.cost,
            changed_at=task.changed_at or task.created_at or _EPOCH,
        )

    @property
    def key(self) -> SortKey:
        """The cursor's place in its sort (comparable with `sort_key` of the same sort)."""
        if self.sort is TaskSort.STATUS:
            return (self.rank, self.created_at, self.id)
        if self.sort is TaskSort.COST:
            return (self.cost, self.id)
        if self.sort is TaskSort.UPDATED:
            return (self.changed_at or _EPOCH, self.id)
        return (self.created_at, self.id)


def sort_key(task: Task, sort: TaskSort) -> SortKey:
    """A task's place in `sort`: the list shows keys descending (ascending for `oldest`)."""
    return TaskPageCursor.after(task, sort).key


def comes_before(task: Task, cursor: TaskPageCursor) -> bool:
    """Whether `task` is listed before the cursor's row in the cursor's sort."""
    key, mark = sort_key(task, cursor.sort), cursor.key
    return key > mark if cursor.sort.descending else key < mark


@dataclass(frozen=True)
class TaskFilter:
    repository_id: UUID | None = None
    statuses: tuple[TaskStatus, ...] = ()
    mode: TaskMode | None = None
    text: str | None = None
    parent_id: UUID | None = None
    ids: tuple[UUID, ...] = ()
    """Only these tasks (a refresh of a few rows)."""
    sort: TaskSort = TaskSort.NEWEST
