"""The task transcript: append-only events with a contiguous per-task sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many
from asynccoder_tui.db.tx import transaction
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
) -> list[TaskEvent]:
    """Append events in order; sequence numbers come from the task row, so they never skip.

    With `lease_owner`, the append happens only while that worker holds the task's lease
    (`LeaseLostError` otherwise), so a worker that lost its task cannot write to its transcript.
    """
    if not events:
        return []
    async with transaction(db) as conn:
        last = await conn.fetchval(
            """UPDATE tasks SET event_seq = event_seq + $2
               WHERE id = $1 AND ($3::text IS NULL
                                  OR (lease_owner = $3 AND status = 'running'))
               RETURNING event_seq""",
            task_id,
            len(events),
            lease_owner,
        )
        if last is None:
            if lease_owner is not None:
                raise LeaseLostError(f"task {task_id} is no longer leased to {lease_owner}")
            raise NotFoundError(f"task {task_id} not found")
        first = last - len(events) + 1
        rows = await conn.fetch(
            f"""INSERT INTO task_events (task_id, seq, kind, payload)
                SELECT $1, s.seq, s.kind, s.payload
                FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS s(seq, kind, payload)
                RETURNING {_COLUMNS}""",
            task_id,
            list(range(first, last + 1)),
            [kind.value for kind, _ in events],
            [payload for _, payload in events],
        )
        await conn.execute("SELECT pg_notify('task_events', $1)", f"{task_id}:{last}")
    return many(TaskEvent, rows)


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
