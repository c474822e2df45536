"""Pull requests opened for tasks, and the state polled from GitHub."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.enums import PullRequestState
from asynccoder_tui.domain.models import PullRequest

_COLUMNS = """id, task_id, repository_id, number, url, title, state, head_branch, base_branch,
    merged_at, last_synced_at, created_at"""


async def record_pull_request(
    db: Executor,
    *,
    task_id: UUID,
    repository_id: UUID,
    number: int,
    url: str,
    title: str,
    body: str,
    state: PullRequestState,
    head_branch: str,
    base_branch: str,
) -> PullRequest:
    """Insert the row for a PR GitHub made (or refresh it when it was linked again)."""
    row = await db.fetchrow(
        f"""INSERT INTO pull_requests (task_id, repository_id, number, url, title, body, state,
                                       head_branch, base_branch, last_synced_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
            ON CONFLICT (repository_id, number) DO UPDATE SET task_id = EXCLUDED.task_id,
                url = EXCLUDED.url, title = EXCLUDED.title, state = EXCLUDED.state,
                last_synced_at = now()
            RETURNING {_COLUMNS}""",
        task_id,
        repository_id,
        number,
        url,
        title,
        body,
        state.value,
        head_branch,
        base_branch,
    )
    await db.execute("SELECT pg_notify('pull_requests', $1)", str(task_id))
    pr = one(PullRequest, row)
    assert pr is not None
    return pr


async def for_task(db: Executor, task_id: UUID) -> PullRequest | None:
    return one(
        PullRequest,
        await db.fetchrow(
            f"SELECT {_COLUMNS} FROM pull_requests WHERE task_id = $1 ORDER BY created_at DESC LIMIT 1",
            task_id,
        ),
    )


async def open_pull_requests(db: Executor, *, limit: int = 50) -> list[PullRequest]:
    """Open and draft PRs, least recently synced first (what the poller checks next)."""
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM pull_requests WHERE state IN ('open', 'draft')
            ORDER BY last_synced_at NULLS FIRST LIMIT $1""",
        limit,
    )
    return many(PullRequest, rows)


async def update_state(
    db: Executor, pr_id: UUID, state: PullRequestState, merged_at: datetime | None
) -> None:
    task_id = await db.fetchval(
        """UPDATE pull_requests SET state = $2, merged_at = $3, last_synced_at = now(),
               closed_at = CASE WHEN $2 IN ('closed', 'merged') THEN coalesce(closed_at, now())
                                ELSE NULL END
           WHERE id = $1 RETURNING task_id""",
        pr_id,
        state.value,
        merged_at,
    )
    if task_id is not None:
        await db.execute("SELECT pg_notify('pull_requests', $1)", str(task_id))
