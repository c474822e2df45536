"""Several worker processes on one database: no task runs twice, priorities hold, and a worker
killed with `kill -9` mid-task loses nothing but time."""

from __future__ import annotations

import asyncio
from itertools import combinations
from pathlib import Path

import pytest

from asynccoder_tui.db import queue
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.enums import EventKind, Priority, TaskStatus
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import (
    FINAL,
    WorkerProcess,
    assert_ledger_reconciles,
    assert_transcript_contiguous,
    ledger_mark,
    quick,
    running_pool,
    wait_for,
    wait_status,
)

RANK = {Priority.CRITICAL: 3, Priority.HIGH: 2, Priority.MEDIUM: 1, Priority.LOW: 0}


async def _run_many(ctx, settings, make_repo, *, per_priority: int, concurrency: int) -> None:
    root: Path = make_repo()
    repo = await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    workers = [WorkerProcess(ctx.settings, concurrency=concurrency) for _ in range(2)]
    await asyncio.gather(*(w.start() for w in workers))
    try:
        async with running_pool(ctx, concurrency=concurrency) as local:
            await asyncio.sleep(0.3)  # every pool idle and listening
            new = [
                NewTask(owner_id=ctx.user.id, repository_id=repo.id, model="scripted:echo",
                        title=f"{p.value}-{i}", prompt=f"task {p.value} {i}", priority=p)
                for i in range(per_priority)
                for p in (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL)
            ]  # fmt: skip
            ids = await queue.insert_tasks(ctx.db.pool, new)  # one statement: all at once
            for task_id in ids:
                await wait_status(ctx, task_id, FINAL, timeout=120)
            local_id = local.worker_id
    finally:
        codes = await asyncio.gather(*(w.stop() for w in workers))
    assert codes == [0, 0], "a worker process did not shut down cleanly"

    done = [await tasks_db.get_task(ctx.db.pool, task_id) for task_id in ids]
    assert all(t.status is TaskStatus.COMPLETED for t in done), [t.error for t in done]
    runners = set()
    for task in done:
        # Exactly one run: one claim, one execution, one "running" in the transcript.
        assert task.attempt == 1
        executions = await ctx.db.pool.fetch(
            "SELECT status, worker_id FROM executions WHERE task_id = $1", task.id
        )
        assert [e["status"] for e in executions] == ["succeeded"], task.title
        runners.add(queue.lease_worker(executions[0]["worker_id"]))
        transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
        running = [
            e for e in transcript
            if e.kind is EventKind.STATUS and e.payload.get("status") == "running"
        ]  # fmt: skip
        assert len(running) == 1 and transcript[-1].payload["status"] == "completed"
        finished = [e for e in transcript if e.kind is EventKind.STATUS and e.payload.get("final")]
        assert len(finished) == 1
    assert runners <= {w.worker_id for w in workers} | {local_id}
    assert len(runners) >= 2, f"only {runners} ran tasks"
    # Priorities: a task was never claimed while a more urgent one still waited (claims are
    # serialised; tasks of one batch are claimed together, hence the small tolerance).
    for a, b in combinations(done, 2):
        if RANK[a.priority] < RANK[b.priority]:
            a, b = b, a
        if RANK[a.priority] > RANK[b.priority]:
            assert a.started_at is not None and b.started_at is not None
            assert (a.started_at - b.started_at).total_seconds() < 0.05, (a.title, b.title)


async def test_two_worker_processes_and_the_app_pool_never_run_a_task_twice(
    ctx, settings, make_repo
) -> None:
    await _run_many(ctx, settings, make_repo, per_priority=4, concurrency=2)


@pytest.mark.slow
async def test_many_tasks_over_three_pools_never_run_twice(ctx, settings, make_repo) -> None:
    await _run_many(ctx, settings, make_repo, per_priority=40, concurrency=4)


async def test_a_worker_killed_mid_task_is_rescued_and_the_task_finishes_elsewhere(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings, lease_seconds=3)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    doomed = await WorkerProcess(ctx.settings).start()
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(repository=str(root), prompt="take your time", model="scripted:slow"),
    )
    survivor: WorkerProcess | None = None
    try:
        claimed = await wait_for(
            lambda: ctx.db.pool.fetchval(
                """SELECT lease_owner FROM tasks t WHERE id = $1 AND status = 'running'
                   AND EXISTS (SELECT 1 FROM task_events e
                               WHERE e.task_id = t.id AND e.kind = 'text_delta')""",
                task.id,
            ),
            what="the doomed worker to be mid-stream",
        )
        assert queue.lease_worker(claimed) == doomed.worker_id
        survivor = await WorkerProcess(ctx.settings).start()
        doomed.kill()
        assert await doomed.proc.wait() == -9
        killed_at = asyncio.get_running_loop().time()
        done = await wait_status(ctx, task.id, FINAL, timeout=60)
        took = asyncio.get_running_loop().time() - killed_at
    finally:
        if survivor is not None:
            await survivor.stop()
        await doomed.stop()
    assert done.status is TaskStatus.COMPLETED, done.error
    assert done.attempt == 2 and done.summary == "Slow demo finished."
    # Rescued once the 3 s lease ran out, then a full slow run (about 10 s) on the survivor.
    assert took < 30
    executions = await ctx.db.pool.fetch(
        "SELECT status, worker_id, error FROM executions WHERE task_id = $1 ORDER BY started_at",
        task.id,
    )
    assert [e["status"] for e in executions] == ["failed", "succeeded"]
    assert queue.lease_worker(executions[0]["worker_id"]) == doomed.worker_id
    assert "stopped responding" in executions[0]["error"]
    assert survivor is not None
    assert queue.lease_worker(executions[1]["worker_id"]) == survivor.worker_id
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    details = [e.payload.get("detail", "") for e in transcript if e.kind is EventKind.STATUS]
    assert any(f"({doomed.worker_id}) stopped responding; retrying" in d for d in details)
    assert transcript[-1].payload["status"] == "completed"
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
