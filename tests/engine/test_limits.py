"""Refused submissions say which limit refused them and when it frees up."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path

import pytest

from asynccoder_tui.db import users
from asynccoder_tui.db.usage import UsageRecord, record_usage
from asynccoder_tui.domain.errors import LimitExceededError
from asynccoder_tui.services import repos, tasks
from tests.engine.conftest import quick


def _request(root: Path, prompt: str = "do it") -> tasks.SubmitRequest:
    return tasks.SubmitRequest(repository=str(root), prompt=prompt, model="scripted:echo")


async def test_the_submission_rate_limit_names_itself_and_when_a_slot_frees(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings, max_submissions_per_minute=3)
    for n in range(3):
        await tasks.submit(ctx, _request(root, f"task {n}"))
    with pytest.raises(LimitExceededError) as refused:
        await tasks.submit(ctx, _request(root, "one too many"))
    err = refused.value
    assert err.limit == "max_submissions_per_minute"
    match = re.fullmatch(
        r"submission rate limit: 3 tasks a minute; the next slot frees in (\d+) s", str(err)
    )
    assert match and 55 <= int(match.group(1)) <= 60, str(err)
    assert err.retry_after is not None and 55 <= err.retry_after <= 60
    # The slot frees when the oldest submission leaves the window.
    await ctx.db.pool.execute(
        "UPDATE tasks SET created_at = created_at - interval '50 seconds' "
        "WHERE id = (SELECT id FROM tasks ORDER BY created_at LIMIT 1)"
    )
    with pytest.raises(LimitExceededError, match=r"frees in ([5-9]|10) s"):
        await tasks.submit(ctx, _request(root, "still too early"))


async def test_the_rate_limit_holds_for_concurrent_submissions(ctx, settings, make_repo) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings, max_submissions_per_minute=3)
    results = await asyncio.gather(
        *(tasks.submit(ctx, _request(root, f"burst {n}")) for n in range(8)),
        return_exceptions=True,
    )
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, LimitExceededError)]
    assert len(accepted) == 3 and len(refused) == 5, results


async def test_monthly_limits_refuse_submissions_and_follow_ups_naming_the_limit(
    ctx, settings, make_repo
) -> None:
    root: Path = make_repo()
    await repos.add_repo(ctx, str(root))
    ctx.settings = quick(settings)
    first = await tasks.submit(ctx, _request(root))
    await tasks.cancel(ctx, first.id)
    # This month the user already spent 90,000 of 100,000 tokens and $0.95 of $1.
    await record_usage(
        ctx.db.pool,
        user_id=ctx.user.id,
        task_id=first.id,
        execution_id=None,
        usage=UsageRecord(provider="scripted", model="scripted:echo", input_tokens=80_000,
                          output_tokens=10_000, cost=Decimal("0.95")),
    )  # fmt: skip
    await users.set_limits(
        ctx.db.pool, ctx.user.id, monthly_token_limit=100_000, monthly_cost_limit=None
    )
    await ctx.refresh_user()
    with pytest.raises(LimitExceededError) as refused:
        await tasks.submit(ctx, _request(root))
    assert refused.value.limit == "monthly_token_limit"
    assert str(refused.value).startswith("monthly token limit: 90,000 of 100,000 tokens used")
    assert "resets on the first of the month (UTC)" in str(refused.value)
    with pytest.raises(LimitExceededError, match="monthly token limit"):
        await tasks.follow_up(ctx, first.id, "and one more thing")

    await users.set_limits(
        ctx.db.pool, ctx.user.id, monthly_token_limit=None, monthly_cost_limit=Decimal("1.00")
    )
    await ctx.refresh_user()
    with pytest.raises(LimitExceededError) as refused:
        await tasks.submit(ctx, _request(root, "x " * 5000))
    assert refused.value.limit == "monthly_cost_limit"
    assert str(refused.value).startswith("monthly cost limit: $0.95 of $1.00 used")
    assert refused.value.hint and "first of the month" in refused.value.hint
