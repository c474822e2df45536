"""Credits: cost to credits, the hold a submission takes, settlement, and monthly limits.

The balance arithmetic and its ledger rows live in `db/credits.py` (one transaction each,
idempotent by key); this module decides how much and with which keys:
- a run (a submission, a follow-up or a retry) holds credits once, key `hold:<task>:<run>`;
- settling that run uses key `settle:<task>:<run>`, so a repeated settle never bills twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from asynccoder_tui.db import credits as ledger
from asynccoder_tui.db import usage
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.errors import InsufficientCreditsError, LimitExceededError
from asynccoder_tui.domain.models import User


def credits_for(cost: Decimal, rate: int) -> int:
    """Credits billed for `cost` dollars: rounded up, so a fraction of a credit is one credit."""
    if cost <= 0:
        return 0
    return math.ceil(cost * rate)


def dollars_for(credits: int, rate: int) -> Decimal:
    return (Decimal(credits) / Decimal(rate)).quantize(Decimal("0.000001"))


def hold_key(task_id: UUID, run: int) -> str:
    return f"hold:{task_id}:{run}"


def settle_key(task_id: UUID, run: int) -> str:
    return f"settle:{task_id}:{run}"


@dataclass(frozen=True)
class HoldPlan:
    credits: int
    expected_credits: int


def plan_hold(*, balance: int, expected_cost: Decimal, max_cost: Decimal, rate: int) -> HoldPlan:
    """How much to hold for a run: the task's cost limit, or what the balance allows as long as
    it covers the expected cost. Refuses (with the figures) when it does not."""
    expected = max(1, credits_for(expected_cost, rate))
    cap = max(expected, credits_for(max_cost, rate))
    if balance < expected:
        raise InsufficientCreditsError(
            f"the balance is {balance} credits and this task is expected to need {expected}",
            hint="add credits, or choose a cheaper model",
        )
    return HoldPlan(credits=min(cap, balance), expected_credits=expected)


async def hold_for_run(db: Executor, user_id: UUID, task_id: UUID, run: int, amount: int) -> None:
    await ledger.hold(db, user_id, task_id, amount, key=hold_key(task_id, run))


async def settle_run(
    db: Executor, task_id: UUID, run: int, cost: Decimal, rate: int, *, refund: bool = False
) -> ledger.Settlement:
    return await ledger.settle(
        db, task_id, credits_for(cost, rate), key=settle_key(task_id, run), refund=refund
    )


async def check_monthly_limits(db: Executor, user: User, *, tokens: int, cost: Decimal) -> None:
    """Refuse a run that would pass the user's monthly token or cost limit, naming the limit."""
    if user.monthly_token_limit is None and user.monthly_cost_limit is None:
        return
    used_tokens, used_cost = await usage.month_to_date(db, user.id)
    if user.monthly_token_limit is not None and used_tokens + tokens > user.monthly_token_limit:
        raise LimitExceededError(
            f"monthly token limit: {used_tokens:,} of {user.monthly_token_limit:,} tokens used, "
            f"and this task is expected to need about {tokens:,} more",
            limit="monthly_token_limit",
            hint="the limit resets on the first of the month (UTC), or raise it in settings",
        )
    if user.monthly_cost_limit is not None and used_cost + cost > user.monthly_cost_limit:
        raise LimitExceededError(
            f"monthly cost limit: ${used_cost:.2f} of ${user.monthly_cost_limit:.2f} used, "
            f"and this task is expected to cost about ${cost:.2f} more",
            limit="monthly_cost_limit",
            hint="the limit resets on the first of the month (UTC), or raise it in settings",
        )
