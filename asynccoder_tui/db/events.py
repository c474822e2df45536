"""The task transcript: append-only events with a contiguous per-task sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.models import TaskEvent

_COLUMNS = "id, task_id, seq, kind, payload, created_at"


async def append_events(
    db: Executor, task_id: UUID, events: Sequence[tuple[EventKind, dict[str, Any]]]
) -> list[TaskEvent]:
    """Append events in order; sequence numbers come from the task row, so they never skip."""
    if not events:
        return []
    async with transaction(db) as conn:
        last = await conn.fetchval(
            "UPDATE tasks SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
            task_id,
            len(events),
        )
        if last is None:
            from asynccoder_tui.domain.errors import NotFoundError

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
