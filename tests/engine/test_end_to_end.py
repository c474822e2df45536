"""A task's whole life on real PostgreSQL and real git, with the scripted agent."""

from __future__ import annotations

from pathlib import Path

from asynccoder_tui.db import credits, events
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import git, wait_status


async def test_submit_run_complete_and_settle(ctx, settings, make_repo) -> None:
    root: Path = make_repo()
    repo = await repos.add_repo(ctx, str(root))
    assert repo.default_branch == "main"
    start_balance = await tasks.balance(ctx)
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(
            repository=str(root), prompt="Improve the README", model="scripted:demo"
        ),
    )
    assert task.status is TaskStatus.QUEUED and task.held_credits > 0
    assert await tasks.balance(ctx) == start_balance - task.held_credits

    bus = EventBus(ctx.db.url)
    await bus.start()
    pool = WorkerPool(ctx.db.pool, settings, concurrency=1, bus=bus)
    await pool.start()
    try:
        done = await wait_status(ctx, task.id, {"completed", "failed", "cancelled"})
    finally:
        await pool.stop()
        await bus.stop()
    assert done.status is TaskStatus.COMPLETED, done.error
    assert done.commit_sha and done.files_changed >= 1 and done.lines_added >= 1
    assert done.work_branch and done.work_branch.startswith("asynccoder/")
    # The commit is on the task branch, with the trailer; the user's checkout is untouched.
    log = git(root, "log", "-1", "--format=%B", done.work_branch)
    assert "Assisted-by:" in log
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"

    transcript = await events.list_events(ctx.db.pool, task.id)
    assert [e.seq for e in transcript] == list(range(1, len(transcript) + 1))
    kinds = {e.kind for e in transcript}
    assert {EventKind.MESSAGE, EventKind.TOOL_CALL, EventKind.TOOL_RESULT, EventKind.USAGE} <= kinds
    assert transcript[-1].payload["status"] == "completed"

    # Credits: exactly the cost was debited, the rest released.
    totals = await credits.ledger_totals(ctx.db.pool, ctx.user.id)
    assert totals["hold"] == totals["debit"] + totals.get("release", 0) + totals.get("refund", 0)
    assert done.held_credits == 0
    assert await tasks.balance(ctx) == start_balance - done.used_credits
    assert done.used_credits >= 1 and done.cost > 0
