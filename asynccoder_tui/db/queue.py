"""The task queue's SQL: claim with SKIP LOCKED, leases, rescue, retry, cancel, follow-up.

The tasks table is the queue. A claim (the `claim_tasks` function in the schema) takes queued
rows whose `run_after` has come, highest priority first, then `run_after`, then age, through
the partial index `tasks_queue`; per-user and per-provider running limits are exact, because
claims are serialised by a per-database advisory lock held only for the claim itself (and only
when a limit is set). Every claim carries its own lease token (`<worker>/<nonce>` in
`lease_owner`); everything that finishes or bills a task first checks that token, so a run
that lost its lease can do neither, even when the same worker has claimed the task again
since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.db.tasks import COLUMNS, NewTask
from asynccoder_tui.domain.errors import DatabaseUnavailableError
from asynccoder_tui.domain.models import Task

_RUNNING = "status = 'running'"


async def claim(
    db: Executor,
    worker_id: str,
    *,
    lease_seconds: float,
    limit: int = 1,
    user_limit: int | None = None,
    provider_limit: int | None = None,
) -> list[Task]:
    """Claim up to `limit` runnable tasks for `worker_id`; their attempt count goes up by one.

    `user_limit` and `provider_limit` cap the running tasks of one owner and of one provider
    (None: no cap). With either set, claims are serialised by a per-database lock, so the caps
    are exact; with neither, claims run side by side.

    Each claimed task's `lease_owner` is a lease token of its own, `<worker_id>/<nonce>`: pass
    it to every lease-checked call for that run. Call outside any transaction (the claim holds
    a per-database lock until its transaction ends).
    """
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM claim_tasks($1, $2, $3, $4, $5) t
            ORDER BY t.priority_rank DESC, t.run_after, t.created_at""",
        worker_id,
        float(lease_seconds),
        max(1, limit),
        user_limit,
        provider_limit,
    )
    return many(Task, rows)


async def insert_tasks(db: Executor, new: Sequence[NewTask]) -> list[UUID]:
    """Queue many tasks in one statement (imports, benchmarks, tests); returns their ids."""
    rows = await db.fetch(
        """INSERT INTO tasks (owner_id, repository_id, parent_id, model, agent_kind, title,
                              prompt, mode, priority, base_branch, max_attempts,
                              estimated_credits, provider)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                $11::int[], $12::bigint[], $13::text[])
           RETURNING id""",
        [n.owner_id for n in new],
        [n.repository_id for n in new],
        [n.parent_id for n in new],
        [n.model for n in new],
        [n.agent_kind for n in new],
        [n.title for n in new],
        [n.prompt for n in new],
        [n.mode.value for n in new],
        [n.priority.value for n in new],
        [n.base_branch for n in new],
        [n.max_attempts for n in new],
        [n.estimated_credits for n in new],
        [n.provider.value for n in new],
    )
    return [r["id"] for r in rows]


def lease_worker(lease_owner: str | None) -> str:
    """The worker part of a lease token (what a person wants to read)."""
    return (lease_owner or "unknown worker").split("/", 1)[0]


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


async def expired_leases(
    db: Executor, *, limit: int = 100, exclude: Sequence[str] = ()
) -> list[Task]:
    """Running tasks whose lease has expired, except those held under the `exclude` leases."""
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.{_RUNNING} AND t.lease_expires_at < now()
              AND t.lease_owner <> ALL ($2::text[])
            ORDER BY t.lease_expires_at LIMIT $1""",
        limit,
        list(exclude),
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


async def record_call(
    db: Executor,
    task_id: UUID,
    lease_owner: str,
    *,
    key: str,
    user_id: UUID,
    execution_id: UUID | None,
    provider: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    cost: Decimal,
) -> bool:
    """Record one provider call (an `api_usage` row, keyed by `key`) and add it to the task's
    totals, in one statement, while `lease_owner` holds the lease. Recording the same key again
    changes nothing and answers True (a retry after a dropped connection); False when the lease
    is not held and the call was never recorded."""
    row = await db.fetchrow(
        f"""WITH owned AS (
                SELECT id FROM tasks WHERE id = $1 AND lease_owner = $2 AND {_RUNNING}
                FOR UPDATE),
            recorded AS (
                INSERT INTO api_usage (user_id, task_id, execution_id, provider, model,
                                       input_tokens, output_tokens, cache_read_tokens,
                                       cache_write_tokens, cost, call_key)
                SELECT $3, o.id, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM owned o
                ON CONFLICT (call_key) DO NOTHING
                RETURNING task_id),
            added AS (
                UPDATE tasks SET input_tokens = input_tokens + $7,
                       output_tokens = output_tokens + $8,
                       cache_read_tokens = cache_read_tokens + $9,
                       cache_write_tokens = cache_write_tokens + $10,
                       cost = cost + $11, run_cost = run_cost + $11
                WHERE id = (SELECT task_id FROM recorded)
                RETURNING id)
            SELECT (SELECT count(*) FROM added) AS added,
                   EXISTS (SELECT 1 FROM api_usage WHERE call_key = $12) AS known""",
        task_id,
        lease_owner,
        user_id,
        execution_id,
        provider,
        model,
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cost,
        key,
    )
    assert row is not None
    return bool(row["added"] or row["known"])


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


async def pending_messages(db: Executor, task_id: UUID) -> list[str]:
    """The follow-up messages waiting for the task's next turn (left in place: a run that
    dies before saving its conversation must not lose them; see `consume_pending`)."""
    value = await db.fetchval("SELECT pending_messages FROM tasks WHERE id = $1", task_id)
    return [str(m) for m in (value or [])]


async def consume_pending(conn: Executor, task_id: UUID, count: int) -> None:
    """Drop the first `count` pending messages (a run saved a conversation that holds them);
    messages that arrived during the run stay for the next one."""
    if count <= 0:
        return
    await conn.execute(
        """UPDATE tasks SET pending_messages = coalesce(
               (SELECT jsonb_agg(m.value ORDER BY m.n)
                FROM jsonb_array_elements(pending_messages) WITH ORDINALITY AS m(value, n)
                WHERE m.n > $2), '[]'::jsonb)
           WHERE id = $1""",
        task_id,
        count,
    )


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


async def finish_owned(
    db: Executor,
    task_id: UUID,
    lease_owner: str,
    *,
    status: str = "completed",
    error: str | None = None,
    summary: str | None = None,
) -> bool:
    """Close a run in one statement, only while `lease_owner` holds the lease (a task with
    nothing to bill: no-op jobs, benchmarks). False when the lease was lost."""
    result = await db.execute(
        f"""UPDATE tasks SET status = $3, error = $4, summary = coalesce($5, summary),
               lease_owner = NULL, lease_expires_at = NULL, cancel_requested = false,
               completed_at = now()
            WHERE id = $1 AND lease_owner = $2 AND {_RUNNING}""",
        task_id,
        lease_owner,
        status,
        error,
        summary,
    )
    return result == "UPDATE 1"


async def finish_many(
    db: Executor, runs: Sequence[tuple[UUID, str]], *, status: str = "completed"
) -> int:
    """`finish_owned` for many runs in one statement (`(task id, lease)` pairs); returns how
    many were still leased as given and so were closed."""
    result = await db.execute(
        f"""UPDATE tasks t SET status = $3, lease_owner = NULL, lease_expires_at = NULL,
               cancel_requested = false, completed_at = now()
            FROM unnest($1::uuid[], $2::text[]) AS r(id, lease)
            WHERE t.id = r.id AND t.lease_owner = r.lease AND t.{_RUNNING}""",
        [task_id for task_id, _ in runs],
        [lease for _, lease in runs],
        status,
    )
    return int(result.split()[-1])


async def cancel_requested(db: Executor, task_id: UUID) -> bool:
    return bool(await db.fetchval("SELECT cancel_requested FROM tasks WHERE id = $1", task_id))


async def close_abandoned_executions(
    conn: Executor, task_id: UUID, lease_owner: str | None, error: str
) -> None:
    """Mark the executions a vanished run left open as failed (it will never close them)."""
    await conn.execute(
        """UPDATE executions SET status = 'failed', error = $3, finished_at = now(),
               duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint
           WHERE task_id = $1 AND status = 'running'
             AND ($2::text IS NULL OR worker_id = $2)""",
        task_id,
        lease_owner,
        error,
    )


async def lock_submissions(conn: Executor, owner_id: UUID) -> None:
    """Serialise one user's submissions until the end of the transaction (rate limit check)."""
    await conn.execute("SELECT pg_advisory_xact_lock(727274002, hashtext($1::text))", str(owner_id))


async def ping(db: Executor) -> None:
    """A round trip to the server (raises when it cannot be reached)."""
    await db.fetchval("SELECT 1")


def is_transient(err: BaseException) -> bool:
    """True for failures that mean "the database is unreachable for now" (restart, dropped
    connection, failover), after which the same statement may well succeed."""
    if isinstance(err, asyncpg.PostgresConnectionError):
        return True
    if isinstance(err, asyncpg.InterfaceError) and "closed" in str(err):
        return True  # "connection is closed": the pool replaces it on the next acquire
    if isinstance(
        err,
        asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.CrashShutdownError
        | asyncpg.exceptions.TooManyConnectionsError,
    ):
        return True
    if isinstance(err, DatabaseUnavailableError | OSError | TimeoutError):
        return True
    return False
