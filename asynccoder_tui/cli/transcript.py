"""A task's transcript on the command line: printing its events and following it until the task
ends (`task submit --wait`, `task follow-up --wait`), with the exit code of its outcome.

Text that came from a model or a repository is printed inert.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING
from uuid import UUID

from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.domain.models import TaskEvent
    from asynccoder_tui.services.context import AppContext
    from asynccoder_tui.services.live import LocalWorkers

EXIT_TASK_FAILED = 3
EXIT_TASK_CANCELLED = 4
WORKER_RECHECK_SECONDS = 5.0
"""While the task waits in the queue, how often to check that some worker is still alive."""


async def wait_for(ctx: AppContext, task_id: UUID, *, as_json: bool, run_worker: bool) -> int:
    """Stream the transcript until the task ends; exit with its outcome."""
    from asynccoder_tui.services import live, tasks

    pool = None
    checked = loop_time()
    if run_worker and not await live.workers_alive(ctx):
        pool = await _run_here(ctx, as_json=as_json)
    seq = 0
    try:
        async with live.subscription(ctx, ["task_events", "task_status"]) as updates:
            while True:
                for event in await tasks.transcript(ctx, task_id, after_seq=seq):
                    seq = event.seq
                    if as_json:
                        from asynccoder_tui.cli import json_safe

                        print(json_safe(event.model_dump_json()))
                    else:
                        print_event(event)
                task = await tasks.get_task(ctx, task_id)
                if task.status.is_final and await _caught_up(ctx, task_id, seq):
                    break
                if (
                    run_worker
                    and pool is None
                    and task.status is TaskStatus.QUEUED
                    and loop_time() - checked >= WORKER_RECHECK_SECONDS
                ):
                    # The worker seen at the start may have died (kill -9): its heartbeat goes
                    # stale after a while, and then nobody would ever run the task.
                    checked = loop_time()
                    if not await live.workers_alive(ctx):
                        pool = await _run_here(ctx, as_json=as_json)
                await updates.wait(timeout=1.0)
    except asyncio.CancelledError:  # Ctrl-C: say what becomes of the task, then stop
        if pool is not None:
            await pool.stop()
            pool = None
            where = "it went back to the queue and runs when a worker or the app is running"
        else:
            where = "a worker goes on with it"
        short = str(task_id)[:8]
        print(
            f"\nstopped waiting for task {short}: {where}; "
            f"asynccoder task show {short} shows it, asynccoder task cancel {short} cancels it",
            file=sys.stderr,
        )
        raise
    finally:
        if pool is not None:
            await pool.stop()
    if not as_json:
        print(f"\n{task.status.value}: {inert(task.error or task.summary or '')}".rstrip(": "))
    return {
        TaskStatus.COMPLETED: 0,
        TaskStatus.CANCELLED: EXIT_TASK_CANCELLED,
    }.get(task.status, EXIT_TASK_FAILED)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _run_here(ctx: AppContext, *, as_json: bool) -> LocalWorkers:
    from asynccoder_tui.services import live

    pool = await live.start_worker_pool(ctx, concurrency=1)
    if not as_json:
        print("no worker is running: running this task here", file=sys.stderr)
    return pool


async def _caught_up(ctx: AppContext, task_id: UUID, seq: int) -> bool:
    from asynccoder_tui.services import tasks

    return not await tasks.transcript(ctx, task_id, after_seq=seq, limit=1)


def print_event(event: TaskEvent) -> None:
    p = event.payload
    kind = event.kind
    if kind is EventKind.TEXT_DELTA:
        print(inert(str(p.get("text", ""))), end="", flush=True)
    elif kind is EventKind.MESSAGE:
        role = p.get("role", "user")
        if role == "user":
            print(f"\n> {inert(str(p.get('text', '')))}")
    elif kind is EventKind.TOOL_CALL:
        args = p.get("arguments")
        summary = inert(str(args))[:120] if args else ""
        print(f"\n  [{inert(str(p.get('name', 'tool')))}] {summary}")
    elif kind is EventKind.TOOL_RESULT:
        mark = "ok" if p.get("ok", True) else "failed"
        first = inert(str(p.get("output", ""))).strip().splitlines()[:1]
        print(f"    -> {mark}{': ' + first[0][:120] if first else ''}")
    elif kind is EventKind.STATUS:
        label = p.get("status") or p.get("state") or ""
        detail = p.get("detail") or ""
        if label not in ("step",):
            print(f"\n[{inert(str(label))}] {inert(str(detail))}".rstrip())
    elif kind is EventKind.RETRY:
        print(
            f"\n[retry {p.get('attempt')}] {inert(str(p.get('reason', '')))} (in {p.get('delay')} s)"
        )
    elif kind is EventKind.ERROR:
        print(f"\n[error] {inert(str(p.get('message', '')))}")
    elif kind is EventKind.USAGE and p.get("settlement"):
        print(f"\n[billed] {p.get('billed_credits', 0)} credits (${p.get('cost', '0')})")
