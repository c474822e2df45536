"""Executions analytics: per agent role and per model, how runs went (success rate, mean cost
and time, files and lines changed). Read-only queries over `executions`; it writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class RunStats:
    """How the finished runs of one agent role or one model went."""

    key: str
    runs: int
    succeeded: int
    failed: int
    cancelled: int
    mean_cost: Decimal
    mean_seconds: float
    files_changed: int
    lines_added: int
    lines_removed: int

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.runs if self.runs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "success_rate": round(self.success_rate, 4),
            "mean_cost": str(self.mean_cost),
            "mean_seconds": round(self.mean_seconds, 3),
            "files_changed": self.files_changed,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
        }


_STATS = """
    SELECT {key} AS key, count(*)::int AS runs,
           count(*) FILTER (WHERE e.status = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE e.status = 'failed')::int AS failed,
           count(*) FILTER (WHERE e.status = 'cancelled')::int AS cancelled,
           coalesce(avg(e.cost), 0)::numeric(14, 6) AS mean_cost,
           coalesce(avg(e.duration_ms), 0)::float8 / 1000 AS mean_seconds,
           coalesce(sum(e.files_changed), 0)::int AS files_changed,
           coalesce(sum(e.lines_added), 0)::int AS lines_added,
           coalesce(sum(e.lines_removed), 0)::int AS lines_removed
    FROM executions e JOIN tasks t ON t.id = e.task_id
    WHERE t.owner_id = $1 AND e.status <> 'running'
    GROUP BY 1 ORDER BY count(*) DESC, 1"""


async def stats_by_agent(db: Executor, user_id: UUID) -> list[RunStats]:
    """Finished runs grouped by agent role (planner, coder, reviewer, ...)."""
    rows = await db.fetch(_STATS.format(key="e.agent_kind"), user_id)
    return [RunStats(**dict(r)) for r in rows]


async def stats_by_model(db: Executor, user_id: UUID) -> list[RunStats]:
    """Finished runs grouped by model."""
    rows = await db.fetch(_STATS.format(key="e.model"), user_id)
    return [RunStats(**dict(r)) for r in rows]
