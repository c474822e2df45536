"""The usage report: balance, ledger, cost and tokens per model and per day, task outcomes,
and how agent runs went per agent role and per model (executions analytics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asynccoder_tui.db import analytics, credits, tasks, usage
from asynccoder_tui.db.analytics import RunStats
from asynccoder_tui.db.usage import DayUsage, ModelUsage
from asynccoder_tui.domain.models import CreditTransaction
from asynccoder_tui.services.context import AppContext


@dataclass(frozen=True)
class UsageReport:
    balance: int
    credits_per_usd: int
    ledger: list[CreditTransaction]
    ledger_totals: dict[str, int]
    by_model: list[ModelUsage]
    by_day: list[DayUsage]
    outcomes: dict[str, int]
    month_tokens: int
    month_cost: Decimal
    by_agent: list[RunStats] = field(default_factory=list)
    by_agent_model: list[RunStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "balance": self.balance,
            "credits_per_usd": self.credits_per_usd,
            "month": {"tokens": self.month_tokens, "cost": str(self.month_cost)},
            "ledger_totals": self.ledger_totals,
            "ledger": [
                {
                    "time": t.created_at.isoformat() if t.created_at else None,
                    "kind": t.kind.value,
                    "amount": t.amount,
                    "balance_after": t.balance_after,
                    "task": str(t.task_id) if t.task_id else None,
                    "description": t.description,
                }
                for t in self.ledger
            ],
            "by_model": [
                {
                    "model": m.model,
                    "calls": m.calls,
                    "input_tokens": m.input_tokens,
                    "output_tokens": m.output_tokens,
                    "cache_read_tokens": m.cache_read_tokens,
                    "cost": str(m.cost),
                }
                for m in self.by_model
            ],
            "by_day": [
                {"day": d.day.isoformat(), "tokens": d.tokens, "cost": str(d.cost)}
                for d in self.by_day
            ],
            "outcomes": self.outcomes,
            "executions": {
                "by_agent": {s.key: s.as_dict() for s in self.by_agent},
                "by_model": {s.key: s.as_dict() for s in self.by_agent_model},
            },
        }


async def report(ctx: AppContext, *, ledger_rows: int = 50, days: int = 30) -> UsageReport:
    pool = ctx.db.pool
    user = await ctx.refresh_user()
    month_tokens, month_cost = await usage.month_to_date(pool, user.id)
    return UsageReport(
        balance=user.credits,
        credits_per_usd=ctx.settings.credits_per_usd,
        ledger=await credits.ledger(pool, user.id, limit=ledger_rows),
        ledger_totals=await credits.ledger_totals(pool, user.id),
        by_model=await usage.usage_by_model(pool, user.id),
        by_day=await usage.usage_by_day(pool, user.id, days=days),
        outcomes=await tasks.count_tasks_by_status(pool, user.id),
        month_tokens=month_tokens,
        month_cost=month_cost,
        by_agent=await analytics.stats_by_agent(pool, user.id),
        by_agent_model=await analytics.stats_by_model(pool, user.id),
    )
