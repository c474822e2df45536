"""The task queue's SQL: claim with SKIP LOCKED, leases, rescue, retry, cancel, follow-up.

The tasks table is the queue. A claim takes queued rows whose `run_after` has come, highest
priority first, then `run_after`, then age, through the partial index `tasks_queue`; per-user
and per-provider running limits are applied at claim time (best effort under concurrent
claims: each claim sees the counts committed before it). Everything that finishes or bills a
task first locks the row *as its lease owner*, so a worker that lost its lease can do neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.db.tasks import COLUMNS
from asynccoder_tui.domain.models import Task

_RUNNING = "status = 'running'"


async def claim(
    db: Executor,
    worker_id: str,
    *,
    lease_seconds: float,
    limit: int = 1,
    user_limit: int = 1_000_000,
    provider_limit: int = 1_000_000,
) -> list[Task]:
    """Claim up to `limit` runnable tasks for `worker_id`; their attempt count goes up by one."""
    rows = await db.fetch(
        f"""WITH next AS (
                SELECT q.id FROM tasks q
                WHERE q.status = 'queued' AND q.run_after <= now()
                  AND (SELECT count(*) FROM tasks r
                        WHERE r.owner_id = q.owner_id AND r.{_RUNNING}) < $4
                  AND (SELECT count(*) FROM tasks r
                        WHERE r.provider = q.provider AND r.{_RUNNING}) < $5
                ORDER BY q.priority_rank DESC, q.run_after, q.created_at
                LIMIT $3
                FOR UPDATE SKIP LOCKED),
            claimed AS (
                UPDATE tasks t SET status = 'running', lease_owner = $1,
                       lease_expires_at = now() + make_interval(secs => $2),
                       attempt = t.attempt + 1, started_at = coalesce(t.started_at, now()),
                       completed_at = NULL
                FROM next WHERE t.id = next.id
                RETURNING t.*)
            SELECT {COLUMNS} FROM claimed t
            ORDER BY t.priority_rank DESC, t.run_after, t.created_at""",
        worker_id,
        float(lease_seconds),
        limit,
        user_limit,
        provider_limit,
    )
    return many(Task, rows)


@dataclass(frozen=True)
class LeaseState:
    held: bool
    cancel_requested: bool = False
    pending_messages: int = 0


async def renew_lease(
    db: Executor, task_id: UUID, worker_id: str, lease_seconds: float
) -> LeaseState:
    row = await db.fetchrow(
        f"""UPDATE tasks SET lease_expires_at = now() + make_interval(secs => $3)
            WHERE id = $1 AND lease_owner = $2 AND {_RUNNING}
            RETURNING cancel_requested, jsonb_array_length(pending_messages) AS pending""",
        task_id,
        worker_id,
        float(lease_seconds),
    )
    if row is None:
        return LeaseState(held=False)
    return LeaseState(
        held=True, cancel_requested=row["cancel_requested"], pending_messages=row["pending"]
    )


async def lock_owned(conn: Executor, task_id: UUID, worker_id: str) -> Task | None:
    """Lock the task row if `worker_id` still holds its lease (call inside a transaction)."""
    row = await conn.fetchrow(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.id = $1 AND t.lease_owner = $2 AND t.{_RUNNING}
            FOR UPDATE OF t""",
        task_id,
        worker_id,
    )
    return one(Task, row)


async def lock_task(conn: Executor, task_id: UUID) -> Task | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM tasks t WHERE t.id = $1 FOR UPDATE OF t", task_id
    )
    return one(Task, row)


async def set_final(
    conn: Executor,
    task_id: UUID,
    *,
    status: str,
    error: str | None,
    exit_status: str | None,
    summary: str | None,
) -> None:
    """Close a run: final status, lease cleared (the caller holds the row lock)."""
    await conn.execute(
        """UPDATE tasks SET status = $2, error = $3, exit_status = $4,
               summary = coalesce($5, summary), lease_owner = NULL, lease_expires_at = NULL,
               cancel_requested = false, completed_at = now()
           WHERE id = $1""",
        task_id,
        status,
        error,
        exit_status,
        summary,
    )


async def requeue(
    conn: Executor,
    task_id: UUID,
    *,
    delay_seconds: float,
    error: str | None,
    consume_attempt: bool = True,
) -> None:
    """Put a running task back in the queue after `delay_seconds` (retry, rescue, shutdown)."""
    await conn.execute(
        """UPDATE tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,
               run_after = now() + make_interval(secs => $2), error = $3,
               attempt = CASE WHEN $4 THEN attempt ELSE greatest(attempt - 1, 0) END
           WHERE id = $1""",
        task_id,
        float(delay_seconds),
        error,
        consume_attempt,
    )


async def expired_leases(db: Executor, *, limit: int = 100) -> list[Task]:
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.{_RUNNING} AND t.lease_expires_at < now()
            ORDER BY t.lease_expires_at LIMIT $1""",
        limit,
    )
    return many(Task, rows)


async def lock_expired(conn: Executor, task_id: UUID) -> Task | None:
    """Lock a task whose lease has expired (None if it was renewed or rescued meanwhile)."""
    row = await conn.fetchrow(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.id = $1 AND t.{_RUNNING} AND t.lease_expires_at < now()
            FOR UPDATE OF t SKIP LOCKED""",
        task_id,
    )
    return one(Task, row)


async def add_usage(
    conn: Executor,
    task_id: UUID,
    worker_id: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    cost: Decimal,
) -> bool:
    """Add one provider call's usage to the task (only while `worker_id` holds the lease)."""
    status = await conn.execute(
        f"""UPDATE tasks SET input_tokens = input_tokens + $3, output_tokens = output_tokens + $4,
               cache_read_tokens = cache_read_tokens + $5,
               cache_write_tokens = cache_write_tokens + $6,
               cost = cost + $7, run_cost = run_cost + $7
           WHERE id = $1 AND lease_owner = $2 AND {_RUNNING}""",
        task_id,
        worker_id,
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cost,
    )
    return status == "UPDATE 1"


async def set_results(
    conn: Executor,
    task_id: UUID,
    *,
    work_branch: str | None,
    base_branch: str | None,
    commit_sha: str | None,
    files_changed: int,
    lines_added: int,
    lines_removed: int,
    conversation: Any,
) -> None:
    await conn.execute(
        """UPDATE tasks SET work_branch = coalesce($2, work_branch),
               base_branch = coalesce($3, base_branch), commit_sha = coalesce($4, commit_sha),
               files_changed = $5, lines_added = $6, lines_removed = $7, conversation = $8
           WHERE id = $1""",
        task_id,
        work_branch,
        base_branch,
        commit_sha,
        files_changed,
        lines_added,
        lines_removed,
        conversation,
    )


async def request_cancel(conn: Executor, task_id: UUID) -> None:
    await conn.execute(
        "UPDATE tasks SET cancel_requested = true WHERE id = $1 AND status = 'running'", task_id
    )


async def take_pending_messages(conn: Executor, task_id: UUID) -> list[str]:
    """Pop the follow-up messages waiting for the task's next turn."""
    value = await conn.fetchval(
        """UPDATE tasks t SET pending_messages = '[]'::jsonb
           FROM (SELECT pending_messages FROM tasks WHERE id = $1 FOR UPDATE) old
           WHERE t.id = $1 RETURNING old.pending_messages""",
        task_id,
    )
    return [str(m) for m in (value or [])]


async def reopen(
    conn: Executor,
    task_id: UUID,
    *,
    message: str | None,
    estimated_credits: int,
    reset_attempts: bool,
) -> None:
    """Queue a finished task again (follow-up or retry) as a new billing run."""
    await conn.execute(
        """UPDATE tasks SET status = 'queued', run_after = now(), error = NULL,
               exit_status = NULL, cancel_requested = false, completed_at = NULL,
               billing_run = billing_run + 1, run_cost = 0, estimated_credits = $3,
               attempt = CASE WHEN $4 THEN 0 ELSE attempt END,
               pending_messages = CASE WHEN $2::text IS NULL THEN pending_messages
                                       ELSE pending_messages || to_jsonb($2::text) END
           WHERE id = $1""",
        task_id,
        message,
        estimated_credits,
        reset_attempts,
    )


async def add_pending_message(conn: Executor, task_id: UUID, message: str) -> None:
    await conn.execute(
        "UPDATE tasks SET pending_messages = pending_messages || to_jsonb($2::text) WHERE id = $1",
        task_id,
        message,
    )


async def queue_depth(db: Executor) -> dict[str, int]:
    rows = await db.fetch("SELECT status, count(*) AS n FROM tasks GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def recent_submissions(db: Executor, owner_id: UUID, seconds: float) -> list[datetime]:
    """Creation times of the user's tasks in the last `seconds` (submission rate limit)."""
    rows = await db.fetch(
        """SELECT created_at FROM tasks WHERE owner_id = $1
             AND created_at > now() - make_interval(secs => $2) AND parent_id IS NULL
           ORDER BY created_at""",
        owner_id,
        float(seconds),
    )
    return [r["created_at"] for r in rows]


async def now(db: Executor) -> datetime:
    value: datetime = await db.fetchval("SELECT now()")
    return value


async def pending_count(db: Executor, task_id: UUID) -> int:
    value = await db.fetchval(
        "SELECT jsonb_array_length(pending_messages) FROM tasks WHERE id = $1", task_id
    )
    return int(value or 0)
