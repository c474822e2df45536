"""Queue policy: backoff for retries and rescues, and the rescue of expired leases.

The SQL is in `db/queue.py`; this module decides when a task runs again and what becomes of
a task whose worker died: back to the queue with backoff, or failed in words once its
attempts are used up (its hold refunded: the failure was ours, not the user's).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from asynccoder_tui.db import events, queue
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.engine.credits import settle_run

log = logging.getLogger(__name__)


def backoff_delay(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2**n)]."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(0, ceiling)


@dataclass(frozen=True)
class Rescued:
    task_id: UUID
    status: TaskStatus


async def rescue_expired(
    db: Executor,
    *,
    credits_per_usd: int,
    backoff_base: float = 2.0,
    limit: int = 100,
    exclude: Sequence[str] = (),
) -> list[Rescued]:
    """Requeue (or fail, when out of attempts) every running task whose lease has expired.

    `exclude` lists lease tokens of runs the caller knows are alive (its own runners, whose
    heartbeat missed a beat while the database was away): they renew their own leases."""
    rescued: list[Rescued] = []
    for stale in await queue.expired_leases(db, limit=limit, exclude=exclude):
        async with transaction(db) as conn:
            task = await queue.lock_expired(conn, stale.id)
            if task is None:
                continue
            who = queue.lease_worker(task.lease_owner)
            await queue.close_abandoned_executions(
                conn, task.id, task.lease_owner, f"the worker ({who}) stopped responding"
            )
            if task.attempt >= task.max_attempts:
                reason = (
                    f"the worker running this task ({who}) stopped responding, and all "
                    f"{task.max_attempts} attempts are used"
                )
                await settle_run(
                    conn, task.id, task.billing_run, task.run_cost, credits_per_usd, refund=True
                )
                await queue.set_final(
                    conn,
                    task.id,
                    status=TaskStatus.FAILED.value,
                    error=reason,
                    exit_status="lease_expired",
                    summary=None,
                )
                status = TaskStatus.FAILED
            else:
                reason = (
                    f"the worker running this task ({who}) stopped responding; "
                    f"retrying (attempt {task.attempt + 1} of {task.max_attempts})"
                )
                await queue.requeue(
                    conn,
                    task.id,
                    delay_seconds=backoff_delay(task.attempt, base=backoff_base),
                    error=reason,
                )
                status = TaskStatus.QUEUED
            await events.append_events(
                conn, task.id, [(EventKind.STATUS, {"status": status.value, "detail": reason})]
            )
        log.warning(
            "rescued task with expired lease", extra={"task": str(task.id), "status": status.value}
        )
        rescued.append(Rescued(task.id, status))
    return rescued
