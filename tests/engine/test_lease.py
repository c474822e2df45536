"""Leases: a run that lost its lease can neither complete nor bill its task; expired leases
are rescued (back to the queue with backoff, or failed in words once attempts run out)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asynccoder_tui.db import events, queue
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.engine.finish import RunEnd, RunResult, finish_run
from asynccoder_tui.engine.queue import rescue_expired
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import (
    FINAL,
    assert_ledger_reconciles,
    assert_transcript_contiguous,
    finish_turn,
    ledger_mark,
    plan_model,
    quick,
    running_pool,
    wait_for,
    wait_status,
)


async def _submit(ctx, root: Path, model: str, **kw):
    return await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="work", model=model, **kw)
    )


async def test_a_run_whose_lease_was_stolen_can_neither_complete_nor_bill(
    ctx, settings, make_repo, tmp_path
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings, lease_seconds=30)
    model = plan_model(
        tmp_path,
        [
            {"text": "Reading first. " * 4, "delay": 0.05, "chunk_chars": 4,
             "tool_calls": [{"name": "create", "arguments": {"path": "x.txt", "content": "x\n"}}]},
            finish_turn("all done"),
        ],
    )  # fmt: skip
    task = await _submit(ctx, root, model)
    held = task.held_credits
    async with running_pool(ctx) as pool:
        await wait_for(
            lambda: ctx.db.pool.fetchval(
                "SELECT count(*) > 0 FROM task_events WHERE task_id = $1 AND kind = 'text_delta'",
                task.id,
            ),
            what="the stream",
        )
        before = await tasks_db.get_task(ctx.db.pool, task.id)
        seq_before = await events.last_seq(ctx.db.pool, task.id)
        # Another worker "takes" the task: the old run must notice and stop touching it.
        await ctx.db.pool.execute(
            "UPDATE tasks SET lease_owner = 'thief/1', lease_expires_at = now() + interval '1 hour' "
            "WHERE id = $1",
            task.id,
        )
        await wait_for(lambda: asyncio.sleep(0, not pool.status.running), what="the run to stop")
    after = await tasks_db.get_task(ctx.db.pool, task.id)
    assert after.status is TaskStatus.RUNNING and after.lease_owner == "thief/1"
    assert after.commit_sha is None and after.summary is None
    assert after.cost == before.cost and after.held_credits == held  # nothing billed since
    # Not one more transcript row (at most the one whose write was in flight).
    assert await events.last_seq(ctx.db.pool, task.id) <= seq_before + 1
    await assert_transcript_contiguous(ctx.db.pool, task.id)
    kinds = await ctx.db.pool.fetch(
        "SELECT kind FROM credit_transactions WHERE task_id = $1", task.id
    )
    assert [r["kind"] for r in kinds] == ["hold"]
    (execution,) = await ctx.db.pool.fetch(
        "SELECT status, error FROM executions WHERE task_id = $1", task.id
    )
    assert execution["status"] == "failed" and execution["error"] == "run abandoned: lease lost"


async def test_finishing_with_a_lease_that_is_not_the_tasks_changes_nothing(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    task = await _submit(ctx, root, "scripted:echo")
    (claimed,) = await queue.claim(ctx.db.pool, "w", lease_seconds=30)
    end = RunEnd(TaskStatus.COMPLETED, summary="stolen glory")
    with pytest.raises(LeaseLostError):
        await finish_run(
            ctx.db.pool, task, "w/not-the-lease", end, RunResult(), credits_per_usd=1000
        )
    current = await tasks_db.get_task(ctx.db.pool, task.id)
    assert current.status is TaskStatus.RUNNING and current.held_credits == task.held_credits
    assert current.summary is None
    assert claimed.lease_owner is not None
    assert await finish_run(
        ctx.db.pool, task, claimed.lease_owner, end, RunResult(), credits_per_usd=1000
    )
    assert (await tasks_db.get_task(ctx.db.pool, task.id)).status is TaskStatus.COMPLETED


async def test_an_expired_lease_is_rescued_and_the_task_finishes_elsewhere(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    task = await _submit(ctx, root, "scripted:echo")
    # A worker claims it and dies at once (it never renews its lease).
    (ghost,) = await queue.claim(ctx.db.pool, "ghost-host:1:dead", lease_seconds=0.5)
    await ctx.db.pool.fetchval(
        """INSERT INTO executions (task_id, model, attempt, worker_id)
           VALUES ($1, 'scripted:echo', 1, $2) RETURNING id""",
        task.id,
        ghost.lease_owner,
    )
    async with running_pool(ctx):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.COMPLETED, done.error
    assert done.attempt == 2
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    details = [e.payload.get("detail", "") for e in transcript if e.kind is EventKind.STATUS]
    assert any(
        "(ghost-host:1:dead) stopped responding; retrying (attempt 2 of 3)" in d for d in details
    ), details
    rows = await ctx.db.pool.fetch(
        "SELECT status, error FROM executions WHERE task_id = $1 ORDER BY started_at", task.id
    )
    assert [r["status"] for r in rows] == ["failed", "succeeded"]
    assert "stopped responding" in rows[0]["error"]
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)


async def test_a_rescue_with_no_attempts_left_fails_in_words_and_refunds(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    task = await _submit(ctx, root, "scripted:echo", max_attempts=1)
    await queue.claim(ctx.db.pool, "ghost-host:2:dead", lease_seconds=0.2)
    await asyncio.sleep(0.3)
    rescued = await rescue_expired(ctx.db.pool, credits_per_usd=1000)
    assert [(r.task_id, r.status) for r in rescued] == [(task.id, TaskStatus.FAILED)]
    done = await tasks_db.get_task(ctx.db.pool, task.id)
    assert done.status is TaskStatus.FAILED and done.exit_status == "lease_expired"
    assert done.error == (
        "the worker running this task (ghost-host:2:dead) stopped responding, and all 1 "
        "attempts are used"
    )
    totals = await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    assert totals["refund"] == task.held_credits  # the failure was ours: nothing billed
    # A second pass finds nothing (a rescue happens once).
    assert await rescue_expired(ctx.db.pool, credits_per_usd=1000) == []


async def test_the_rescue_loop_leaves_a_live_run_of_its_own_pool_alone(
    ctx, settings, make_repo, tmp_path
) -> None:
    """A run whose heartbeat missed beats (the database was away) keeps its task: the pool's
    own rescue loop does not take it from under it."""
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    model = plan_model(tmp_path, [finish_turn(text="Slowly now. " * 6, delay=0.1)])
    task = await _submit(ctx, root, model)
    async with running_pool(ctx) as pool:
        await wait_for(
            lambda: ctx.db.pool.fetchval(
                "SELECT status = 'running' FROM tasks WHERE id = $1", task.id
            ),
            what="the run",
        )
        # Pretend the heartbeat could not reach the database for a while.
        await ctx.db.pool.execute(
            "UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
            task.id,
        )
        assert pool.status.running == 1
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.COMPLETED and done.attempt == 1


async def test_stopping_a_pool_gives_running_tasks_back_without_using_an_attempt(
    ctx, settings, make_repo, tmp_path
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    model = plan_model(
        tmp_path,
        [
            {"text": "Starting.",
             "tool_calls": [{"name": "create", "arguments": {"path": "w.txt", "content": "w\n"}}]},
            {"text": "A long step.",
             "tool_calls": [{"name": "run", "arguments": {"command": "test -e .resumed || sleep 30"}}]},
            finish_turn("resumed and done"),
        ],
    )  # fmt: skip
    task = await _submit(ctx, root, model)
    async with running_pool(ctx):
        await wait_for(
            lambda: ctx.db.pool.fetchval(
                "SELECT count(*) > 0 FROM task_events WHERE task_id = $1 AND kind = 'tool_call' "
                "AND payload->>'name' = 'run'",
                task.id,
            ),
            what="the long step",
        )
        started = asyncio.get_running_loop().time()
    # Leaving the block stopped the pool: promptly, and the task is back in the queue.
    assert asyncio.get_running_loop().time() - started < 5
    back = await tasks_db.get_task(ctx.db.pool, task.id)
    assert back.status is TaskStatus.QUEUED and back.attempt == 0 and back.lease_owner is None
    assert back.held_credits == task.held_credits  # still held for the next run
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    assert (
        transcript[-1].payload["detail"] == "worker shut down; the task was put back in the queue"
    )
    (execution,) = await ctx.db.pool.fetch(
        "SELECT status, error FROM executions WHERE task_id = $1", task.id
    )
    assert execution["status"] == "failed" and "shut down" in execution["error"]
    # Another pool picks it up, in the same workspace, and finishes it (the long step is
    # quick the second time).
    (ctx.settings.paths.workspaces / str(task.id) / ".resumed").touch()
    async with running_pool(ctx):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.COMPLETED and done.attempt == 1, done.error
    assert (ctx.settings.paths.workspaces / str(task.id) / "w.txt").exists()
