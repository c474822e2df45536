"""The task transcript: append-only events with a contiguous per-task sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import TaskEvent

_COLUMNS = "id, task_id, seq, kind, payload, created_at"


class LeaseLostError(Exception):
    """The writer no longer holds the task's lease: another worker owns it now."""


async def append_events(
    db: Executor,
    task_id: UUID,
    events: Sequence[tuple[EventKind, dict[str, Any]]],
    *,
    lease_owner: str | None = None,
    write_id: UUID | None = None,
    retried: bool = False,
) -> list[TaskEvent]:
    """Append events in order; sequence numbers come from the task row, so they never skip.

    One statement (its own transaction, or part of the caller's): it bumps the task's counter
    (locking the row, so appends to one task queue up), inserts the events numbered from it and
    announces `<task id>:<last seq>` on `task_events`. With `lease_owner`, the append happens
    only while that lease holds the task (`LeaseLostError` otherwise), so a run that lost its
    task cannot write to its transcript.

    `write_id` marks the rows; a write repeated with `retried` (its connection dropped and its
    commit may have got through) returns the rows already written under that id instead of
    appending them again.
    """
    if not events:
        return []
    rows = await db.fetch(
        f"""WITH done AS (
                SELECT {_COLUMNS} FROM task_events
                WHERE $7 AND task_id = $1 AND write_id = $6),
            bumped AS (
                UPDATE tasks SET event_seq = event_seq + $2
                WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM done)
                  AND ($3::text IS NULL OR (lease_owner = $3 AND status = 'running'))
                RETURNING event_seq),
            added AS (
                INSERT INTO task_events (task_id, seq, kind, payload, write_id)
                SELECT $1, b.event_seq - $2 + s.n, s.kind, s.payload, $6
                FROM bumped b,
                     unnest($4::text[], $5::jsonb[]) WITH ORDINALITY AS s(kind, payload, n)
                RETURNING {_COLUMNS}),
            announced AS (
                SELECT pg_notify('task_events', $1::text || ':' || b.event_seq) FROM bumped b)
            SELECT a.*, (SELECT count(*) FROM announced) AS announced FROM added a
            UNION ALL
            SELECT d.*, 0 FROM done d
            ORDER BY seq""",
        task_id,
        len(events),
        lease_owner,
        [kind.value for kind, _ in events],
        [payload for _, payload in events],
        write_id,
        retried and write_id is not None,
    )
    if not rows:
        if lease_owner is not None:
            raise LeaseLostError(f"task {task_id} is no longer leased to {lease_owner}")
        raise NotFoundError(f"task {task_id} not found")
    return many(TaskEvent, rows)  # the `announced` column is not a field: ignored


async def list_events(
    db: Executor, task_id: UUID, *, after_seq: int = 0, limit: int = 10_000
) -> list[TaskEvent]:
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM task_events WHERE task_id = $1 AND seq > $2
            ORDER BY seq LIMIT $3""",
        task_id,
        after_seq,
        limit,
    )
    return many(TaskEvent, rows)


async def last_seq(db: Executor, task_id: UUID) -> int:
    return int(await db.fetchval("SELECT event_seq FROM tasks WHERE id = $1", task_id) or 0)
