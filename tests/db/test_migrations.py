"""Migrations: apply on an empty database, idempotent, safe from two processes, tamper-proof."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from asynccoder_tui.db.migrate import (
    Migration,
    applied_migrations,
    apply_migrations,
    load_migrations,
)
from asynccoder_tui.db.pool import create_pool
from asynccoder_tui.domain.errors import MigrationError

EXPECTED_TABLES = {
    "users", "project_templates", "repositories", "repository_access", "ai_models", "agents",
    "tasks", "task_dependencies", "task_events", "executions", "api_usage", "task_results",
    "git_branches", "commits", "pull_requests", "reviews", "credit_transactions", "code_chunks",
    "workspaces", "workers", "audit_logs", "schema_migrations",
}  # fmt: skip


async def test_apply_on_empty_database_creates_every_table(empty_db_url: str) -> None:
    pool = await create_pool(empty_db_url, max_size=2)
    try:
        applied = await apply_migrations(pool)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        tables = {
            r["relname"]
            for r in await pool.fetch(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE relkind = 'r' AND nspname = 'public'"
            )
        }
        assert EXPECTED_TABLES <= tables
        # Seeds: models with prices, every agent role, templates, the local user and its grant.
        assert await pool.fetchval("SELECT count(*) FROM ai_models WHERE input_price > 0") >= 8
        kinds = {r["kind"] for r in await pool.fetch("SELECT kind FROM agents")}
        assert {"planner", "coder", "reviewer", "architect", "data_analyst"} <= kinds
        names = {r["name"] for r in await pool.fetch("SELECT name FROM project_templates")}
        assert names == {
            "react-typescript", "nextjs-typescript", "python-fastapi", "fullstack-react-fastapi"
        }  # fmt: skip
        user = await pool.fetchrow("SELECT id, credits FROM users WHERE username = 'local'")
        grant = await pool.fetchrow(
            "SELECT amount, balance_after FROM credit_transactions WHERE user_id = $1", user["id"]
        )
        assert user["credits"] > 0 and grant["amount"] == user["credits"]
        assert grant["balance_after"] == user["credits"]
    finally:
        await pool.close()


async def test_second_run_applies_nothing(db_url: str) -> None:
    pool = await create_pool(db_url, max_size=2)
    try:
        before = await applied_migrations(pool)
        assert await apply_migrations(pool) == []
        assert await applied_migrations(pool) == before
    finally:
        await pool.close()


async def test_two_pools_migrating_at_once_apply_once(empty_db_url: str) -> None:
    pools = [await create_pool(empty_db_url, max_size=2) for _ in range(2)]
    try:
        results = await asyncio.gather(*(apply_migrations(p) for p in pools))
        assert sorted(len(r) for r in results) == [0, len(load_migrations())]
        assert await pools[0].fetchval("SELECT count(*) FROM users WHERE username = 'local'") == 1
    finally:
        for p in pools:
            await p.close()


def test_two_processes_migrating_at_once(empty_db_url: str, tmp_path) -> None:
    script = (
        "import asyncio, sys\n"
        "from asynccoder_tui.db.pool import create_pool\n"
        "from asynccoder_tui.db.migrate import apply_migrations\n"
        "async def main():\n"
        "    p = await create_pool(sys.argv[1], max_size=1)\n"
        "    print(len(await apply_migrations(p)))\n"
        "    await p.close()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, empty_db_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = sorted(int(p.communicate(timeout=60)[0].strip()) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    assert outputs == [0, 0, len(load_migrations())]


async def test_tampered_migration_is_refused(db_url: str) -> None:
    pool = await create_pool(db_url, max_size=2)
    try:
        tampered = [
            Migration(m.version, m.name, m.sql + "\n-- edited\n") if m.version == 1 else m
            for m in load_migrations()
        ]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(pool, tampered)
    finally:
        await pool.close()


async def test_database_newer_than_program_is_refused(db_url: str) -> None:
    pool = await create_pool(db_url, max_size=2)
    try:
        await pool.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
        with pytest.raises(MigrationError, match="does not know"):
            await apply_migrations(pool)
    finally:
        await pool.close()


async def test_failed_migration_rolls_back_everything(empty_db_url: str) -> None:
    pool = await create_pool(empty_db_url, max_size=2)
    try:
        broken = [*load_migrations(), Migration(9000, "broken", "CREATE TABLE x (; ")]
        with pytest.raises(MigrationError, match="9000_broken failed"):
            await apply_migrations(pool, broken)
        # One transaction: not even the first migration stays applied.
        assert await pool.fetchval("SELECT to_regclass('users')") is None
        assert await applied_migrations(pool) == []
    finally:
        await pool.close()
