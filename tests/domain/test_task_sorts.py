"""Sort keys and cursors of the task list, as the screens use them to place live updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import (
    STATUS_RANK,
    TaskPageCursor,
    TaskSort,
    comes_before,
    sort_key,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _task(minutes: int, *, status: TaskStatus = TaskStatus.COMPLETED, cost: str = "0",
          changed: int | None = None, id: UUID | None = None) -> Task:  # fmt: skip
    return Task(
        id=id or uuid4(), owner_id=uuid4(), repository_id=uuid4(), model="m", title="t",
        prompt="p", status=status, cost=Decimal(cost),
        created_at=T0 + timedelta(minutes=minutes),
        changed_at=T0 + timedelta(minutes=changed if changed is not None else minutes),
    )  # fmt: skip


def test_the_status_order_is_active_first_then_failures_then_done() -> None:
    order = sorted(TaskStatus, key=lambda s: STATUS_RANK[s], reverse=True)
    assert order == [
        TaskStatus.RUNNING,
        TaskStatus.QUEUED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
        TaskStatus.COMPLETED,
    ]


def test_sort_cycles_through_every_sort_and_back() -> None:
    seen = [TaskSort.NEWEST]
    while (following := seen[-1].next()) is not TaskSort.NEWEST:
        seen.append(following)
    assert seen == list(TaskSort)


def test_comes_before_follows_each_sorts_direction() -> None:
    old, new = _task(1), _task(2)
    assert comes_before(new, TaskPageCursor.after(old, TaskSort.NEWEST))
    assert comes_before(old, TaskPageCursor.after(new, TaskSort.OLDEST))
    running = _task(0, status=TaskStatus.RUNNING)
    assert comes_before(running, TaskPageCursor.after(new, TaskSort.STATUS))
    costly = _task(0, cost="1.5")
    assert comes_before(costly, TaskPageCursor.after(new, TaskSort.COST))
    touched = _task(0, changed=9)
    assert comes_before(touched, TaskPageCursor.after(new, TaskSort.UPDATED))


def test_ties_are_broken_by_id_in_the_sorts_direction() -> None:
    low = _task(1, id=UUID(int=1))
    high = _task(1, id=UUID(int=2))
    for sort in TaskSort:
        first, second = (high, low) if sort.descending else (low, high)
        assert sort_key(first, sort) != sort_key(second, sort)
        assert comes_before(first, TaskPageCursor.after(second, sort)), sort
        assert not comes_before(second, TaskPageCursor.after(first, sort)), sort
