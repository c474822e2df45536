"""Cancelling (queued and mid-run) and following up (after a run and during one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asynccoder_tui.db import events, queue
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.engine.credits import credits_for
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import (
    FINAL,
    assert_ledger_reconciles,
    assert_transcript_contiguous,
    finish_turn,
    git,
    ledger_mark,
    plan_model,
    quick,
    running_pool,
    wait_for,
    wait_status,
)


async def _has_event(ctx, task_id, kind: EventKind, **match: str):
    async def check():
        for e in await events.list_events(ctx.db.pool, task_id):
            if e.kind is kind and all(e.payload.get(k) == v for k, v in match.items()):
                return e
        return None

    return await wait_for(check, timeout=20, what=f"a {kind.value} event")


async def _executions(ctx, task_id) -> list[dict]:
    rows = await ctx.db.pool.fetch(
        "SELECT attempt, status, worker_id, error FROM executions WHERE task_id = $1 "
        "ORDER BY started_at",
        task_id,
    )
    return [dict(r) for r in rows]


async def test_cancel_of_a_queued_task_is_immediate_and_releases_its_hold(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="never runs", model="scripted:echo")
    )
    assert task.held_credits > 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    done = await tasks.cancel(ctx, task.id)
    assert loop.time() - started < 0.5
    assert done.status is TaskStatus.CANCELLED and done.held_credits == 0
    assert done.error == "cancelled by its owner" and done.attempt == 0
    totals = await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    assert totals["release"] == task.held_credits and totals.get("debit", 0) == 0
    assert await _executions(ctx, task.id) == []
    # Nothing picks it up later.
    async with running_pool(ctx, quick(settings)):
        await asyncio.sleep(0.8)
    assert (await tasks_db.get_task(ctx.db.pool, task.id)).status is TaskStatus.CANCELLED


async def test_cancel_mid_stream_and_mid_command_stops_within_a_second(
    ctx, settings, make_repo, tmp_path
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    long_command = plan_model(
        tmp_path,
        [
            {"text": "Writing notes first.",
             "tool_calls": [{"name": "create", "arguments": {"path": "notes.txt", "content": "kept\n"}}]},
            {"text": "Now the long part.",
             "tool_calls": [{"name": "run", "arguments": {"command": "sleep 30; echo done"}}]},
            finish_turn(),
        ],
    )  # fmt: skip
    streaming = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="stream", model="scripted:slow")
    )
    commanding = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="command", model=long_command)
    )
    loop = asyncio.get_running_loop()
    async with running_pool(ctx, concurrency=2):
        await _has_event(ctx, streaming.id, EventKind.TEXT_DELTA)
        await _has_event(ctx, commanding.id, EventKind.TOOL_CALL, name="run")
        await asyncio.sleep(0.3)  # well inside the stream and the command
        timings = {}
        for task in (streaming, commanding):
            started = loop.time()
            await tasks.cancel(ctx, task.id)
            await wait_status(ctx, task.id, FINAL, timeout=5)
            timings[task.title] = loop.time() - started
        await asyncio.sleep(1.0)  # and it stays cancelled: no retry of a cancelled task
    assert all(t < 1.0 for t in timings.values()), timings
    for task in (streaming, commanding):
        done = await tasks_db.get_task(ctx.db.pool, task.id)
        assert done.status is TaskStatus.CANCELLED, done.error
        assert done.attempt == 1 and done.held_credits == 0
        # What was used is billed (the interrupted model call included), the rest released.
        assert done.cost > 0 and done.used_credits == credits_for(done.cost, 1000)
        assert [e["status"] for e in await _executions(ctx, task.id)] == ["cancelled"]
        transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
        assert transcript[-1].payload["status"] == "cancelled"
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    # The workspace keeps what was done before the cancel.
    workspace = ctx.settings.paths.workspaces / str(commanding.id)
    assert (workspace / "notes.txt").read_text() == "kept\n"


async def test_follow_up_on_a_completed_task_continues_its_branch_and_conversation(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(
            repository=str(root), prompt="Improve the README", model="scripted:demo"
        ),
    )
    async with running_pool(ctx):
        first = await wait_status(ctx, task.id, FINAL)
        assert first.status is TaskStatus.COMPLETED, first.error
        again = await tasks.follow_up(ctx, task.id, "Add another note, please")
        # Queued again (a worker may have claimed it already), as the next billing run.
        assert again.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
        assert again.billing_run == 2
        await wait_for(
            lambda: ctx.db.pool.fetchval(
                "SELECT count(*) = 2 FROM executions WHERE task_id = $1 AND status <> 'running'",
                task.id,
            ),
            what="the second run",
        )
        second = await wait_status(ctx, task.id, FINAL)
    assert second.status is TaskStatus.COMPLETED, second.error
    assert second.work_branch == first.work_branch
    assert second.commit_sha and second.commit_sha != first.commit_sha
    assert first.work_branch is not None
    # The new commit sits on top of the first one, on the same branch.
    assert git(root, "rev-parse", f"{second.commit_sha}^").strip() == first.commit_sha
    assert git(root, "rev-parse", first.work_branch).strip() == second.commit_sha
    conversation = await tasks_db.get_conversation(ctx.db.pool, task.id)
    assert conversation is not None
    said = str(conversation)
    assert said.index("Improve the README") < said.index("Add another note, please")
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    user_messages = [
        e.payload["text"]
        for e in transcript
        if e.kind is EventKind.MESSAGE and e.payload.get("role") == "user"
    ]
    assert "Add another note, please" in user_messages
    assert [e["status"] for e in await _executions(ctx, task.id)] == ["succeeded", "succeeded"]
    totals = await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    assert (
        await ctx.db.pool.fetchval(
            "SELECT count(*) FROM credit_transactions WHERE task_id = $1 AND kind = 'hold'", task.id
        )
        == 2
    )
    assert totals["debit"] == second.used_credits


async def test_follow_up_while_running_is_picked_up_after_the_run(
    ctx, settings, make_repo, tmp_path
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    model = plan_model(
        tmp_path, [finish_turn("first turn done", text="Thinking it over " * 4, delay=0.05)]
    )
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="Do the thing", model=model)
    )
    async with running_pool(ctx):
        await _has_event(ctx, task.id, EventKind.TEXT_DELTA)
        queued = await tasks.follow_up(ctx, task.id, "And then this")
        assert queued.status is TaskStatus.RUNNING
        assert await queue.pending_count(ctx.db.pool, task.id) == 1
        await wait_for(
            lambda: ctx.db.pool.fetchval(
                "SELECT count(*) = 2 FROM executions WHERE task_id = $1 AND status = 'succeeded'",
                task.id,
            ),
            what="the follow-up's run",
        )
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.COMPLETED and done.billing_run == 2
    assert await queue.pending_count(ctx.db.pool, task.id) == 0
    conversation = str(await tasks_db.get_conversation(ctx.db.pool, task.id))
    assert conversation.index("Do the thing") < conversation.index("And then this")
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    details = [e.payload.get("detail") for e in transcript if e.kind is EventKind.STATUS]
    assert "follow-up queued for the next run" in details
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
