"""Retries: with backoff for failures worth retrying, never for cancelled or budget-stopped
tasks, and failure in words once the attempts are used up."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from asynccoder_tui.agent.providers import scripted
from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.engine import runner as runner_module
from asynccoder_tui.engine.queue import backoff_delay
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import (
    FINAL,
    assert_ledger_reconciles,
    assert_transcript_contiguous,
    ledger_mark,
    plan_model,
    quick,
    running_pool,
    wait_status,
)

NO_AGENT_RETRIES = RetryPolicy(max_retries=0)
OVERLOADED = {"error": {"message": "overloaded (simulated 529)", "status": 529, "retryable": True}}


async def _statuses(ctx, task_id) -> list[str]:
    rows = await ctx.db.pool.fetch(
        "SELECT status FROM executions WHERE task_id = $1 ORDER BY started_at", task_id
    )
    return [r["status"] for r in rows]


def test_backoff_grows_exponentially_with_full_jitter() -> None:
    random.seed(5)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (12, 300.0)]:
        samples = [backoff_delay(attempt, base=2.0, cap=300.0) for _ in range(2000)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.95 and min(samples) < ceiling * 0.05


async def test_a_retryable_failure_goes_back_to_the_queue_and_then_succeeds(
    ctx, settings, make_repo, monkeypatch
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    built: list[str] = []
    real = runner_module.make_provider

    def overloaded_once(model, **kw):
        built.append(model.name)
        if len(built) == 1:
            return scripted.ScriptedProvider([scripted.ScriptedTurn.model_validate(OVERLOADED)])
        return real(model, **kw)

    monkeypatch.setattr(runner_module, "make_provider", overloaded_once)
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="echo me", model="scripted:echo")
    )
    async with running_pool(ctx, retry_policy=NO_AGENT_RETRIES):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.COMPLETED, done.error
    assert done.attempt == 2 and len(built) == 2
    assert await _statuses(ctx, task.id) == ["failed", "succeeded"]
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    retry = [
        e.payload["detail"]
        for e in transcript
        if e.kind is EventKind.STATUS and e.payload.get("final") is False
    ]
    assert len(retry) == 1 and "overloaded (simulated 529); will retry in" in retry[0]
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)


async def test_max_attempts_then_fail_in_words(ctx, settings, make_repo, tmp_path) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    model = plan_model(tmp_path, [OVERLOADED], repeat=True)
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(repository=str(root), prompt="never", model=model, max_attempts=3),
    )
    async with running_pool(ctx, retry_policy=NO_AGENT_RETRIES):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.FAILED
    assert done.error == "model API: overloaded (simulated 529) (after 3 attempts)"
    assert done.attempt == 3
    assert await _statuses(ctx, task.id) == ["failed", "failed", "failed"]
    transcript = await assert_transcript_contiguous(ctx.db.pool, task.id)
    retries = [
        e for e in transcript if e.kind is EventKind.STATUS and e.payload.get("final") is False
    ]
    assert len(retries) == 2
    # The failed calls were billed, once, at the end.
    totals = await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
    assert totals["hold"] == task.held_credits and totals["debit"] == done.used_credits


@pytest.mark.parametrize(
    ("changes", "model", "error"),
    [
        ({"task_max_steps": 1}, "scripted:demo", "stopped: it reached its step limit"),
        (
            {"task_max_cost": Decimal("0.000001")},
            "scripted:demo",
            "stopped: it reached its cost limit",
        ),
        ({}, "scripted:fail", "model API: scripted:fail refuses every call (simulated 401)"),
    ],
    ids=["step-limit", "cost-limit", "not-retryable"],
)
async def test_no_retry_for_budget_stops_or_failures_not_worth_retrying(
    ctx, settings, make_repo, changes, model, error
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings, **changes)
    mark = await ledger_mark(ctx.db.pool, ctx.user.id)
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="go", model=model, max_attempts=3)
    )
    async with running_pool(ctx, retry_policy=NO_AGENT_RETRIES):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.status is TaskStatus.FAILED and done.attempt == 1
    assert done.error is not None and done.error.startswith(error), done.error
    assert await _statuses(ctx, task.id) == ["failed"]
    await assert_ledger_reconciles(ctx.db.pool, ctx.user.id, mark)
