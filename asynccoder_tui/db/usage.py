"""Provider usage rows and the reports the usage screen and `asynccoder usage` show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class UsageRecord:
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: Decimal = Decimal(0)


async def record_usage(
    db: Executor,
    *,
    user_id: UUID,
    task_id: UUID | None,
    execution_id: UUID | None,
    usage: UsageRecord,
) -> None:
    await db.execute(
        """INSERT INTO api_usage (user_id, task_id, execution_id, provider, model, input_tokens,
                                  output_tokens, cache_read_tokens, cache_write_tokens, cost)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        user_id,
        task_id,
        execution_id,
        usage.provider,
        usage.model,
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
        usage.cost,
    )


@dataclass(frozen=True)
class ModelUsage:
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cost: Decimal


@dataclass(frozen=True)
class DayUsage:
    day: date
    tokens: int
    cost: Decimal


async def usage_by_model(db: Executor, user_id: UUID) -> list[ModelUsage]:
    rows = await db.fetch(
        """SELECT model, count(*) AS calls, sum(input_tokens)::bigint AS input_tokens,
                  sum(output_tokens)::bigint AS output_tokens,
                  sum(cache_read_tokens)::bigint AS cache_read_tokens, sum(cost) AS cost
           FROM api_usage WHERE user_id = $1 GROUP BY model ORDER BY sum(cost) DESC, model""",
        user_id,
    )
    return [ModelUsage(**dict(r)) for r in rows]


async def usage_by_day(db: Executor, user_id: UUID, *, days: int = 30) -> list[DayUsage]:
    rows = await db.fetch(
        """SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
                  sum(input_tokens + output_tokens)::bigint AS tokens, sum(cost) AS cost
           FROM api_usage
           WHERE user_id = $1 AND created_at >= now() - make_interval(days => $2)
           GROUP BY 1 ORDER BY 1""",
        user_id,
        days,
    )
    return [DayUsage(**dict(r)) for r in rows]


async def month_to_date(db: Executor, user_id: UUID) -> tuple[int, Decimal]:
    """Tokens and cost this calendar month (UTC), for the monthly limits."""
    row = await db.fetchrow(
        """SELECT coalesce(sum(input_tokens + output_tokens), 0)::bigint AS tokens,
                  coalesce(sum(cost), 0) AS cost
           FROM api_usage
           WHERE user_id = $1 AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC')
                                                 AT TIME ZONE 'UTC'""",
        user_id,
    )
    assert row is not None
    return int(row["tokens"]), Decimal(row["cost"])
