"""The constraints that guard the data: each one is exercised against the real schema."""

from __future__ import annotations

import re

import asyncpg
import pytest

from asynccoder_tui.domain import enums


async def _user(pool: asyncpg.Pool) -> asyncpg.Record:
    return await pool.fetchrow("SELECT id FROM users WHERE username = 'local'")


async def _repo(pool: asyncpg.Pool, owner) -> asyncpg.Record:
    return await pool.fetchrow(
        "INSERT INTO repositories (owner_id, kind, name, local_path) "
        "VALUES ($1, 'local', 'r', '/tmp/r') RETURNING id",
        owner,
    )


async def _task(pool: asyncpg.Pool, owner, repo, **cols) -> asyncpg.Record:
    names = ["owner_id", "repository_id", "model", "title", "prompt", *cols]
    values = [owner, repo, "scripted:demo", "t", "do it", *cols.values()]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    return await pool.fetchrow(
        f"INSERT INTO tasks ({', '.join(names)}) VALUES ({placeholders}) RETURNING id", *values
    )


async def test_negative_credits_refused(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE users SET credits = -1 WHERE id = $1", user["id"])


async def test_ledger_balance_after_cannot_be_negative(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO credit_transactions (user_id, kind, amount, balance_after, idempotency_key)"
            " VALUES ($1, 'debit', 5, -5, 'k1')",
            user["id"],
        )


async def test_ledger_idempotency_key_is_unique(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    sql = (
        "INSERT INTO credit_transactions (user_id, kind, amount, balance_after, idempotency_key)"
        " VALUES ($1, 'grant', 5, 5, 'same-key')"
    )
    await pool.execute(sql, user["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(sql, user["id"])


async def test_duplicate_event_sequence_refused(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    task = await _task(pool, user["id"], repo["id"])
    sql = "INSERT INTO task_events (task_id, seq, kind) VALUES ($1, 1, 'status')"
    await pool.execute(sql, task["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(sql, task["id"])


@pytest.mark.parametrize(
    ("column", "value"),
    [("status", "paused"), ("mode", "yolo"), ("priority", "urgent"), ("agent_kind", "wizard")],
)
async def test_unknown_enum_values_refused(pool: asyncpg.Pool, column: str, value: str) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    with pytest.raises(asyncpg.CheckViolationError):
        await _task(pool, user["id"], repo["id"], **{column: value})


async def test_running_task_needs_a_lease(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    task = await _task(pool, user["id"], repo["id"])
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE tasks SET status = 'running' WHERE id = $1", task["id"])
    await pool.execute(
        "UPDATE tasks SET status = 'running', lease_owner = 'w1', "
        "lease_expires_at = now() + interval '30 seconds' WHERE id = $1",
        task["id"],
    )


async def test_finished_task_cannot_keep_a_hold(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    task = await _task(pool, user["id"], repo["id"], held_credits=10)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE tasks SET status = 'completed' WHERE id = $1", task["id"])


async def test_repository_with_tasks_cannot_be_deleted(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    await _task(pool, user["id"], repo["id"])
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await pool.execute("DELETE FROM repositories WHERE id = $1", repo["id"])


async def test_deleting_a_task_removes_its_transcript(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    task = await _task(pool, user["id"], repo["id"])
    await pool.execute(
        "INSERT INTO task_events (task_id, seq, kind) VALUES ($1, 1, 'status')", task["id"]
    )
    await pool.execute("DELETE FROM tasks WHERE id = $1", task["id"])
    assert await pool.fetchval("SELECT count(*) FROM task_events") == 0


async def test_duplicate_local_repository_refused(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    await _repo(pool, user["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await _repo(pool, user["id"])


async def test_review_scores_are_between_zero_and_one(pool: asyncpg.Pool) -> None:
    user = await _user(pool)
    repo = await _repo(pool, user["id"])
    task = await _task(pool, user["id"], repo["id"])
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO reviews (task_id, status, quality_score) VALUES ($1, 'approved', 1.5)",
            task["id"],
        )


async def _check_values(pool: asyncpg.Pool, table: str, column: str) -> set[str]:
    rows = await pool.fetch(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND contype = 'c'",
        table,
    )
    for row in rows:
        if re.match(rf"CHECK \(+{column} = ANY", row["def"]):
            return set(re.findall(r"'([a-z_]+)'::text", row["def"]))
    raise AssertionError(f"no CHECK on {table}.{column}")


@pytest.mark.parametrize(
    ("table", "column", "enum"),
    [
        ("tasks", "status", enums.TaskStatus),
        ("tasks", "mode", enums.TaskMode),
        ("tasks", "priority", enums.Priority),
        ("tasks", "agent_kind", enums.AgentKind),
        ("agents", "kind", enums.AgentKind),
        ("users", "role", enums.UserRole),
        ("users", "tier", enums.UserTier),
        ("ai_models", "provider", enums.ProviderKind),
        ("repositories", "kind", enums.RepoKind),
        ("repositories", "status", enums.RepoStatus),
        ("repository_access", "level", enums.AccessLevel),
        ("task_events", "kind", enums.EventKind),
        ("credit_transactions", "kind", enums.LedgerKind),
        ("executions", "status", enums.ExecutionStatus),
        ("task_results", "result_type", enums.ResultType),
        ("pull_requests", "state", enums.PullRequestState),
        ("reviews", "status", enums.ReviewStatus),
        ("workspaces", "status", enums.WorkspaceStatus),
    ],
)
async def test_domain_enums_match_schema(
    pool: asyncpg.Pool, table: str, column: str, enum: type
) -> None:
    assert await _check_values(pool, table, column) == {e.value for e in enum}
