"""The database goes away and comes back: listeners reconnect and tell subscribers to re-read,
workers find what was queued meanwhile (RESYNC rescan, polling), and runs in flight finish."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from asynccoder_tui.config import load_settings
from asynccoder_tui.db import queue
from asynccoder_tui.db.bus import RESYNC, STATE, EventBus, Notification
from asynccoder_tui.db.server import EmbeddedServer, start_embedded
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.engine.events import retry_transient
from asynccoder_tui.services import repos, tasks
from asynccoder_tui.services.context import AppContext
from tests.engine.conftest import (
    FINAL,
    assert_ledger_reconciles,
    assert_transcript_contiguous,
    finish_turn,
    ledger_mark,
    plan_model,
    quick,
    running_pool,
    wait_status,
)


@pytest_asyncio.fixture
async def own_server() -> AsyncIterator[EmbeddedServer]:
    """An embedded server of this test's own, to stop and start at will (in a folder of its
    own: a short path for its socket, out of reach of pytest's clean-up of old temp folders)."""
    folder = Path(tempfile.mkdtemp(prefix="ac-pg-"))
    server = await asyncio.to_thread(start_embedded, folder / "pg")
    yield server
    with contextlib.suppress(Exception):
        await asyncio.to_thread(server.stop)
    shutil.rmtree(folder, ignore_errors=True)


async def restart(server: EmbeddedServer, *, down_for: float) -> None:
    from pgserver.postgres_server import PostgresServer

    def start() -> None:
        with PostgresServer._lock:
            server.server.ensure_postgres_running()

    await asyncio.to_thread(server.stop)
    await asyncio.sleep(down_for)
    await asyncio.to_thread(start)


async def _next(sub, channel: str, timeout: float = 20) -> Notification:
    async def find() -> Notification:
        while True:
            note = await sub.get()
            if note.channel == channel:
                return note

    return await asyncio.wait_for(find(), timeout)


async def test_a_database_restart_mid_run_loses_nothing(
    own_server: EmbeddedServer, home: Path, make_repo, tmp_path: Path
) -> None:
    settings = quick(load_settings(database_url=own_server.url(), sandbox="auto"), lease_seconds=10)
    ctx = await AppContext.open(settings)
    watcher = EventBus(ctx.db.url)
    await watcher.start()
    sub = watcher.subscribe(["task_status"])
    try:
        root: Path = make_repo()
        await repos.add_repo(ctx, str(root))
        mark = await ledger_mark(ctx.db.pool, ctx.user.id)
        model = plan_model(
            tmp_path,
            [
                {"text": "Looking around. " * 3, "delay": 0.1, "chunk_chars": 4,
                 "tool_calls": [{"name": "create", "arguments": {"path": "a.txt", "content": "a\n"}}]},
                {"text": "A short command.",
                 "tool_calls": [{"name": "run", "arguments": {"command": "sleep 1; echo ok"}}]},
                finish_turn("survived", text="Wrapping up now. " * 2, delay=0.1),
            ],
        )  # fmt: skip
        before = [
            await tasks.submit(
                ctx, tasks.SubmitRequest(repository=str(root), prompt=f"run {n}", model=model)
            )
            for n in range(2)
        ]
        async with running_pool(ctx, concurrency=2, poll_interval=1.0):
            for task in before:
                await wait_status(ctx, task.id, {"running"})
            await asyncio.sleep(0.5)  # mid-stream
            await restart(own_server, down_for=1.5)
            # Submitted the moment the server is back: the first tries may meet dead
            # connections, and its notification may go out before any listener is back.
            after = await retry_transient(
                lambda: tasks.submit(
                    ctx, tasks.SubmitRequest(repository=str(root), prompt="after", model=model)
                ),
                retry_for=20,
                what="submitting",
            )
            assert (await _next(sub, STATE)).payload == "disconnected"
            assert (await _next(sub, STATE)).payload == "connected"
            assert (await _next(sub, RESYNC)).payload == "reconnected"
            done = [await wait_status(ctx, t.id, FINAL, timeout=60) for t in [*before, after]]
        for task in done:
            assert task.status is TaskStatus.COMPLETED, task.error
            assert task.summary == "survived"
            # The runs in flight waited for the database and carried on: no second attempt.
            assert task.attempt == 1
            await assert_transcript_contiguous(ctx.db.pool, task.id)
        await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    finally:
        await watcher.stop()
        await ctx.close()


async def _insert_silently(ctx, repo_id) -> object:
    """Queue a task without its notification (as if it was lost on the way)."""
    async with ctx.db.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE tasks DISABLE TRIGGER tasks_notify")
        (task_id,) = await queue.insert_tasks(
            conn,
            [NewTask(owner_id=ctx.user.id, repository_id=repo_id, model="scripted:echo",
                     title="unannounced", prompt="unannounced")],
        )  # fmt: skip
        await conn.execute("ALTER TABLE tasks ENABLE TRIGGER tasks_notify")
    return task_id


async def test_a_lost_notification_is_made_up_by_the_rescan_after_a_reconnect(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    repo = await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    async with running_pool(ctx, poll_interval=3600) as pool:  # no polling to save the day
        assert pool.bus is not None and pool.bus._conn is not None
        await asyncio.sleep(0.3)  # the pool's first look at the queue is behind it
        task_id = await _insert_silently(ctx, repo.id)
        await asyncio.sleep(0.5)
        assert (
            await ctx.db.pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id)
        ) == "queued"
        # The listening connection drops (a restart, a network blip): it comes back, and the
        # pool rescans the queue.
        await ctx.db.pool.execute(
            "SELECT pg_terminate_backend($1)", pool.bus._conn.get_server_pid()
        )
        done = await wait_status(ctx, task_id, FINAL, timeout=15)
    assert done.status is TaskStatus.COMPLETED, done.error


async def test_without_notifications_polling_still_finds_queued_tasks(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    repo = await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    async with running_pool(ctx, with_bus=False, poll_interval=0.3):
        await asyncio.sleep(0.2)
        task_id = await _insert_silently(ctx, repo.id)
        done = await wait_status(ctx, task_id, FINAL, timeout=15)
    assert done.status is TaskStatus.COMPLETED, done.error
