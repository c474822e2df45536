"""Best-of-N attempts: grouping sibling tasks, their test results, and discarding the ones not
picked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class AttemptRow:
    id: UUID
    title: str
    model: str
    status: str
    files_changed: int
    lines_added: int
    lines_removed: int
    cost: Decimal
    test_exit_code: int | None
    test_output: str | None
    discarded: bool
    quality_score: Decimal | None
    security_score: Decimal | None


async def group(db: Executor, ids: list[UUID]) -> UUID:
    """Make `ids` one attempt group (named by the first); returns the group id."""
    await db.execute("UPDATE tasks SET attempt_group = $1 WHERE id = ANY($2::uuid[])", ids[0], ids)
    return ids[0]


async def group_of(db: Executor, task_id: UUID) -> UUID | None:
    return await db.fetchval("SELECT attempt_group FROM tasks WHERE id = $1", task_id)  # type: ignore[no-any-return]


async def record_test(db: Executor, task_id: UUID, exit_code: int | None, output: str) -> None:
    await db.execute(
        "UPDATE tasks SET test_exit_code = $2, test_output = $3 WHERE id = $1",
        task_id,
        exit_code,
        output[-20_000:],
    )


async def siblings(db: Executor, group_id: UUID) -> list[AttemptRow]:
    """The group's attempts, oldest first, with their latest review's scores."""
    rows = await db.fetch(
        """SELECT t.id, t.title, t.model, t.status, t.files_changed, t.lines_added,
                  t.lines_removed, t.cost, t.test_exit_code, t.test_output,
                  t.discarded_at IS NOT NULL AS discarded, r.quality_score, r.security_score
           FROM tasks t
           LEFT JOIN LATERAL (SELECT quality_score, security_score FROM reviews
                              WHERE task_id = t.id ORDER BY created_at DESC LIMIT 1) r ON true
           WHERE t.attempt_group = $1 ORDER BY t.created_at, t.id""",
        group_id,
    )
    return [AttemptRow(**dict(r)) for r in rows]


async def discard(db: Executor, task_id: UUID) -> None:
    await db.execute(
        "UPDATE tasks SET discarded_at = coalesce(discarded_at, now()) WHERE id = $1", task_id
    )
