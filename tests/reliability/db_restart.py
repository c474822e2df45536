"""Database restart: PostgreSQL stopped and started while tasks run (and, in pytest, while
the terminal UI is open).

The round runs `tasks` tasks at once on a server of its own, restarts the server `restarts`
times while they stream and run commands, then checks: every task completed in its first
attempt (runs wait for the database and carry on), every transcript is contiguous and holds
each streamed text, tool call and result exactly once (nothing lost, nothing written twice),
a bus subscriber saw the disconnect, the reconnect and the resync, and the database
invariants hold. With `ui`, an `AsyncCoderApp` on the same server shows its banner while the
database is away and takes it down once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asynccoder_tui.db.bus import RESYNC, STATE, EventBus
from asynccoder_tui.db.server import EmbeddedServer, start_embedded
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import make_repository, poll, quick_settings, top_up
from tests.reliability.invariants import database_problems

STREAMED = ("Reading the code carefully. " * 3, "Running the checks now. ", "Wrapping up. " * 2)
TOOLS = ("create", "run", "finish")


def restart_plan(folder: Path) -> str:
    turns = [
        {"text": STREAMED[0], "delay": 0.05, "chunk_chars": 4,
         "tool_calls": [{"name": "create", "arguments": {"path": "a.txt", "content": "a\n"}}]},
        {"text": STREAMED[1], "delay": 0.05, "chunk_chars": 4,
         "tool_calls": [{"name": "run", "arguments": {"command": "sleep 1; echo ok"}}]},
        {"text": STREAMED[2], "delay": 0.05, "chunk_chars": 4,
         "tool_calls": [{"name": "finish", "arguments": {"summary": "survived"}}]},
    ]  # fmt: skip
    path = folder / "restart-plan.json"
    path.write_text(json.dumps({"turns": turns}))
    return f"scripted:@{path}"


@contextlib.asynccontextmanager
async def own_server() -> AsyncIterator[EmbeddedServer]:
    """An embedded server of the round's own, to stop and start at will."""
    folder = Path(tempfile.mkdtemp(prefix="ac-rel-pg-"))
    server = await asyncio.to_thread(start_embedded, folder / "pg")
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(server.stop)
        shutil.rmtree(folder, ignore_errors=True)


async def restart(server: EmbeddedServer, *, down_for: float, while_down: Any = None) -> None:
    from pgserver.postgres_server import PostgresServer

    def start() -> None:
        with PostgresServer._lock:
            server.server.ensure_postgres_running()

    await asyncio.to_thread(server.stop)
    try:
        if while_down is not None:
            await while_down()
        else:
            await asyncio.sleep(down_for)
    finally:
        await asyncio.to_thread(start)


@dataclass
class RestartReport:
    tasks: int = 0
    restarts: int = 0
    completed_first_try: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)
    bus: list[str] = field(default_factory=list)
    ui: list[str] = field(default_factory=list)
    reconnect_seconds: float = 0.0

    def line(self) -> str:
        return (
            f"db_restart: {self.restarts} restarts under {self.tasks} running tasks, "
            f"{self.completed_first_try} completed without a retry, {len(self.lost)} lost events, "
            f"{len(self.duplicated)} duplicated events, bus reconnected "
            f"{'yes' if not self.bus else 'NO'} (after {self.reconnect_seconds:.1f} s), "
            f"{len(self.other) + len(self.database) + len(self.ui)} other problems"
        )

    def problems(self) -> list[str]:
        return [*self.lost, *self.duplicated, *self.other, *self.database, *self.bus, *self.ui]


UiHooks = tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]


async def db_restart_round(
    workdir: Path,
    *,
    tasks: int = 10,
    restarts: int = 1,
    down_for: float = 1.5,
    ui: Callable[[Any], contextlib.AbstractAsyncContextManager[UiHooks]] | None = None,
) -> RestartReport:
    """`ui(settings)` (pytest only) opens the app and yields (check_down, check_up) hooks."""
    report = RestartReport(tasks=tasks, restarts=restarts)
    async with own_server() as server:
        settings = quick_settings(server.url(), lease_seconds=20, worker_concurrency=0)
        ctx = await AppContext.open(settings)
        watcher = EventBus(ctx.db.url)
        await watcher.start()
        sub = watcher.subscribe(["task_status"])
        try:
            await top_up(ctx)
            root = make_repository(workdir / "project")
            await repos.add_repo(ctx, str(root))
            model = restart_plan(workdir)
            ids = [
                (await task_service.submit(
                    ctx, task_service.SubmitRequest(repository=str(root), prompt=f"run {n}", model=model)
                )).id
                for n in range(tasks)
            ]  # fmt: skip
            bus = EventBus(ctx.db.url)
            await bus.start()
            pool = WorkerPool(
                ctx.db.pool, settings, concurrency=tasks, bus=bus, poll_interval=1.0,
                rescue_interval=1.0, backoff_base=0.2,
            )  # fmt: skip
            ui_cm = ui(settings) if ui is not None else contextlib.nullcontext(None)
            async with ui_cm as hooks:
                await pool.start()
                try:
                    await _restart_while_running(ctx, server, ids, report, down_for, sub, hooks)
                    await poll(lambda: _all_final(ctx, ids), timeout=120, what="every task to end")
                finally:
                    await pool.stop()
                    await bus.stop()
            for task_id in ids:
                await _check_transcript(ctx, task_id, report)
            report.database = await database_problems(ctx.db.pool)
        finally:
            sub.close()
            await watcher.stop()
            await ctx.close()
    return report


async def _all_final(ctx: AppContext, ids: list[Any]) -> bool:
    from asynccoder_tui.db import queue

    try:
        rows = await ctx.db.pool.fetch("SELECT status FROM tasks WHERE id = ANY($1::uuid[])", ids)
    except Exception as err:
        if queue.is_transient(err):
            return False
        raise
    return all(r["status"] in ("completed", "failed", "cancelled") for r in rows)


async def _restart_while_running(
    ctx: AppContext, server: EmbeddedServer, ids: list[Any], report: RestartReport,
    down_for: float, sub: Any, hooks: UiHooks | None,
) -> None:  # fmt: skip
    async def streaming() -> bool:
        count = await ctx.db.pool.fetchval(
            """SELECT count(DISTINCT task_id) FROM task_events
               WHERE task_id = ANY($1::uuid[]) AND kind = 'text_delta'""",
            ids,
        )
        return count == len(ids)

    await poll(streaming, timeout=60, what="every task to stream")
    for number in range(report.restarts):
        if number:
            await asyncio.sleep(1.0)

        async def while_down() -> None:
            started = time.monotonic()
            if hooks is not None:
                await hooks[0]()
            await asyncio.sleep(max(0.0, down_for - (time.monotonic() - started)))

        await restart(server, down_for=down_for, while_down=while_down)
        back_at = time.monotonic()
        seen = await _bus_states(sub, timeout=30)
        report.reconnect_seconds = max(report.reconnect_seconds, time.monotonic() - back_at)
        for wanted in ((STATE, "disconnected"), (STATE, "connected"), (RESYNC, "reconnected")):
            if wanted not in seen:
                report.bus.append(f"restart {number + 1}: the bus never said {wanted}: {seen}")
        if hooks is not None:
            await hooks[1]()


async def _bus_states(sub: Any, timeout: float) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    while (RESYNC, "reconnected") not in seen and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            note = await asyncio.wait_for(sub.get(), timeout=max(0.1, deadline - time.monotonic()))
            if note.channel in (STATE, RESYNC):
                seen.append((note.channel, note.payload))
    return seen


async def _check_transcript(ctx: AppContext, task_id: Any, report: RestartReport) -> None:
    task = await task_service.get_task(ctx, task_id)
    events = await task_service.transcript(ctx, task_id)
    if task.status.value == "completed" and task.attempt == 1 and task.summary == "survived":
        report.completed_first_try += 1
    else:
        report.other.append(
            f"task {task_id}: {task.status.value} attempt {task.attempt}: {task.error}"
        )
        return
    texts: dict[int, str] = {}
    for event in events:
        if event.kind is EventKind.TEXT_DELTA:
            step = int(event.payload.get("step", 0))
            texts[step] = texts.get(step, "") + str(event.payload.get("text", ""))
    for step, wanted in enumerate(STREAMED, start=1):
        got = texts.get(step, "")
        if got != wanted:
            where = report.duplicated if len(got) > len(wanted) else report.lost
            where.append(f"task {task_id} step {step}: streamed {got!r}, expected {wanted!r}")
    for kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
        names = [e.payload.get("name") for e in events if e.kind is kind]
        if names != list(TOOLS):
            where = report.duplicated if len(names) > len(TOOLS) else report.lost
            where.append(f"task {task_id}: {kind.value} events {names}")
    usage = [e for e in events if e.kind is EventKind.USAGE and not e.payload.get("settlement")]
    if len(usage) != len(TOOLS):
        where = report.duplicated if len(usage) > len(TOOLS) else report.lost
        where.append(f"task {task_id}: {len(usage)} usage events for {len(TOOLS)} calls")
    calls = await ctx.db.pool.fetchval("SELECT count(*) FROM api_usage WHERE task_id = $1", task_id)
    if calls != len(TOOLS):
        where = report.duplicated if calls > len(TOOLS) else report.lost
        where.append(f"task {task_id}: {calls} api_usage rows for {len(TOOLS)} calls")
