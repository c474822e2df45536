"""Reviewed marks of the files of a task's diff: add, remove, list (SQL only, no rules).

A mark is keyed by task, path and the content fingerprint the file had when it was marked;
whether a mark still holds (the file has that fingerprint now) is the review service's call.
"""

from __future__ import annotations

from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many
from asynccoder_tui.domain.models import ReviewMark

_COLUMNS = "task_id, path, fingerprint, user_id, created_at"


async def add_mark(db: Executor, task_id: UUID, path: str, fingerprint: str, user_id: UUID) -> None:
    """Mark `path` reviewed as of `fingerprint` (marking the same content again is a no-op)."""
    await db.execute(
        """INSERT INTO review_marks (task_id, path, fingerprint, user_id)
           VALUES ($1, $2, $3, $4) ON CONFLICT (task_id, path, fingerprint) DO NOTHING""",
        task_id,
        path,
        fingerprint,
        user_id,
    )


async def remove_marks(db: Executor, task_id: UUID, path: str) -> int:
    """Take back every mark of `path` (of any content); returns how many there were."""
    status = await db.execute(
        "DELETE FROM review_marks WHERE task_id = $1 AND path = $2", task_id, path
    )
    return int(status.rsplit(" ", 1)[-1])


async def list_marks(db: Executor, task_id: UUID) -> list[ReviewMark]:
    """The task's marks by path, newest first within a path."""
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM review_marks WHERE task_id = $1
            ORDER BY path, created_at DESC""",
        task_id,
    )
    return many(ReviewMark, rows)
