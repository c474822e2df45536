"""Fixtures for engine and service tests: a context on a fresh database, local repositories,
worker pools in this process and in others, and the checks every engine test repeats
(transcript without gaps, a ledger that reconciles)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio

from asynccoder_tui.config import Settings, load_settings
from asynccoder_tui.db import events, queue
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.models import Task
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services.context import AppContext

REPO_ROOT = Path(__file__).resolve().parents[2]
FINAL = {"completed", "failed", "cancelled"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    ).stdout  # fmt: skip


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "project", files: dict[str, str] | None = None) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        for rel, text in (
            files or {"README.md": "# Project\n\nA small project.\n", "app.py": "print('hi')\n"}
        ).items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
        return root

    return make


@pytest.fixture
def settings(db_url: str, home: Path) -> Settings:
    return load_settings(database_url=db_url, lease_seconds=5, sandbox="auto")


def quick(settings: Settings, **changes: Any) -> Settings:
    """`settings` with a short lease and roomy limits (bypassing validation: the lease may be
    shorter than the 5 s a person may configure)."""
    values: dict[str, Any] = {
        "lease_seconds": 3,
        "max_submissions_per_minute": 10_000,
        "max_concurrent_tasks_per_user": 100,
        "max_concurrent_per_provider": 100,
    }
    values.update(changes)
    return settings.model_copy(update=values)


@pytest_asyncio.fixture
async def ctx(settings: Settings) -> AsyncIterator[AppContext]:
    context = await AppContext.open(settings)
    yield context
    await context.close()


@contextlib.asynccontextmanager
async def running_pool(
    ctx: AppContext,
    settings: Settings | None = None,
    *,
    concurrency: int = 1,
    with_bus: bool = True,
    **options: Any,
) -> AsyncIterator[WorkerPool]:
    """A started `WorkerPool` (with its own `EventBus` unless `with_bus` is false)."""
    bus = EventBus(ctx.db.url) if with_bus else None
    if bus is not None:
        await bus.start()
    options.setdefault("poll_interval", 0.5)
    options.setdefault("rescue_interval", 0.5)
    options.setdefault("backoff_base", 0.1)
    pool = WorkerPool(
        ctx.db.pool, settings or ctx.settings, concurrency=concurrency, bus=bus, **options
    )
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()
        if bus is not None:
            await bus.stop()


async def wait_status(
    ctx: AppContext, task_id: UUID, statuses: set[str], timeout: float = 30
) -> Task:
    """Poll until the task reaches one of `statuses` (riding out a database restart)."""
    deadline = asyncio.get_running_loop().time() + timeout
    task: Task | None = None
    while True:
        try:
            task = await tasks_db.get_task(ctx.db.pool, task_id)
        except Exception as err:
            if not queue.is_transient(err):
                raise
        if task is not None and task.status.value in statuses:
            return task
        if asyncio.get_running_loop().time() > deadline:
            state = f"{task.status.value} (error: {task.error})" if task else "unknown"
            raise AssertionError(f"task stayed {state}")
        await asyncio.sleep(0.05)


async def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll an async `check` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def assert_transcript_contiguous(db: Executor, task_id: UUID) -> list[Any]:
    """The task's events are numbered 1..n with no gap and no duplicate, matching the task's
    counter; returns them."""
    rows = await events.list_events(db, task_id)
    seqs = [e.seq for e in rows]
    assert seqs == list(range(1, len(rows) + 1)), f"sequence has gaps or duplicates: {seqs}"
    assert await events.last_seq(db, task_id) == len(rows)
    return rows


async def ledger_mark(db: Executor, user_id: UUID) -> tuple[int, int]:
    """(balance, last ledger id) now: where `assert_ledger_reconciles` starts counting."""
    row = await db.fetchrow(
        """SELECT u.credits, coalesce((SELECT max(id) FROM credit_transactions c
                                         WHERE c.user_id = u.id), 0) AS last
           FROM users u WHERE u.id = $1""",
        user_id,
    )
    assert row is not None
    return int(row["credits"]), int(row["last"])


async def assert_ledger_reconciles(
    db: Executor, user_id: UUID, mark: tuple[int, int]
) -> dict[str, int]:
    """Since `mark`: holds = debits + releases + refunds with nothing still held, every task's
    used credits are its debits, and the balance moved by exactly the ledger's signed sum."""
    start, since = mark
    totals = {
        r["kind"]: int(r["total"])
        for r in await db.fetch(
            """SELECT kind, sum(amount)::bigint AS total FROM credit_transactions
               WHERE user_id = $1 AND id > $2 GROUP BY kind""",
            user_id,
            since,
        )
    }
    still_held = int(
        await db.fetchval(
            "SELECT coalesce(sum(held_credits), 0) FROM tasks WHERE owner_id = $1", user_id
        )
    )
    hold, debit = totals.get("hold", 0), totals.get("debit", 0)
    release, refund = totals.get("release", 0), totals.get("refund", 0)
    assert still_held == 0, "a task still holds credits"
    assert hold == debit + release + refund, totals
    balance = await balance_of(db, user_id)
    added = sum(totals.get(k, 0) for k in ("grant", "credit", "bonus"))
    assert balance - start == added + release + refund - hold, (balance, start, totals)
    per_task = await db.fetch(
        """SELECT t.id, t.used_credits,
                  coalesce((SELECT sum(amount) FROM credit_transactions c
                            WHERE c.task_id = t.id AND c.kind = 'debit'), 0) AS debited
           FROM tasks t WHERE t.owner_id = $1""",
        user_id,
    )
    for row in per_task:
        assert row["used_credits"] == row["debited"], dict(row)
    return totals


def plan_model(tmp_path: Path, turns: list[dict[str, Any]], *, repeat: bool = False) -> str:
    """A `scripted:@<file>` model name for a plan of `turns`."""
    path = tmp_path / f"plan-{len(list(tmp_path.glob('plan-*.json')))}.json"
    path.write_text(json.dumps({"turns": turns, "repeat": repeat}))
    return f"scripted:@{path}"


def finish_turn(summary: str = "done", *, text: str = "", delay: float = 0.0) -> dict[str, Any]:
    return {
        "text": text,
        "delay": delay,
        "chunk_chars": 4,
        "tool_calls": [{"name": "finish", "arguments": {"summary": summary}}],
    }


async def balance_of(db: Executor, user_id: UUID) -> int:
    return int(await db.fetchval("SELECT credits FROM users WHERE id = $1", user_id))


class WorkerProcess:
    """`python -c` running a `WorkerPool` on the same database in another process."""

    def __init__(self, settings: Settings, *, concurrency: int = 1, **env: str) -> None:
        assert settings.database_url is not None
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url.get_secret_value(),
            "TEST_WORKER_CONCURRENCY": str(concurrency),
            "TEST_WORKER_LEASE": str(settings.lease_seconds),
            "PYTHONPATH": str(REPO_ROOT),
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.worker_id = ""

    async def start(self, timeout: float = 30) -> WorkerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from tests.engine.worker_process import main; main()",
            env=self.env, cwd=str(REPO_ROOT),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line.startswith(b"ready "), line
        self.worker_id = line.decode().split()[1]
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no cleanup at all

    async def stop(self, timeout: float = 20) -> int | None:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


async def connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)
