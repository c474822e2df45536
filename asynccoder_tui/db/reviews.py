"""Reviews: the reviewer agent's verdicts on a task's commits (status, scores, findings)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.models import Review

_COLUMNS = """id, task_id, commit_sha, reviewer, status, summary, quality_score,
    security_score, issues, suggestions, created_at"""


async def add_review(
    db: Executor,
    task_id: UUID,
    *,
    commit_sha: str | None,
    reviewer: str,
    status: str,
    summary: str,
    quality_score: float | None,
    security_score: float | None,
    issues: list[dict[str, Any]],
    suggestions: list[dict[str, Any]],
) -> Review:
    review = one(
        Review,
        await db.fetchrow(
            f"""INSERT INTO reviews (task_id, commit_sha, reviewer, status, summary,
                                     quality_score, security_score, issues, suggestions)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_COLUMNS}""",
            task_id, commit_sha, reviewer, status, summary, quality_score, security_score,
            issues, suggestions,
        ),
    )  # fmt: skip
    assert review is not None
    return review


async def list_reviews(db: Executor, task_id: UUID) -> list[Review]:
    """The task's reviews, newest first."""
    return many(
        Review,
        await db.fetch(
            f"SELECT {_COLUMNS} FROM reviews WHERE task_id = $1 ORDER BY created_at DESC, id",
            task_id,
        ),
    )


async def approved_for(db: Executor, task_id: UUID, commit_sha: str | None) -> bool:
    """Whether a review approved the task at `commit_sha` (its current commit)."""
    return bool(
        await db.fetchval(
            """SELECT EXISTS (SELECT 1 FROM reviews WHERE task_id = $1
                              AND status = 'approved' AND commit_sha IS NOT DISTINCT FROM $2)""",
            task_id,
            commit_sha,
        )
    )


async def review_children(db: Executor, task_id: UUID) -> list[tuple[UUID, str]]:
    """The reviewer tasks of `task_id` (id, status), newest first."""
    rows = await db.fetch(
        """SELECT id, status FROM tasks WHERE parent_id = $1 AND agent_kind = 'reviewer'
           ORDER BY created_at DESC""",
        task_id,
    )
    return [(r["id"], r["status"]) for r in rows]
