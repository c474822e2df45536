"""The database restart round, reduced to what it found (since fixed in the engine): a
transcript write or a usage record whose COMMIT reached the server just before the connection
dropped is retried, and must not land twice (the streamed text, the tool result, the provider
call: billed twice).

`CommitThenDrop` is an executor whose chosen transaction commits and then reports the
dropped connection the client sees when the server goes away at that moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.db import events, queue
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.engine.events import EventWriter
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext


class CommitThenDrop:
    """Delegates to a pool; transaction number `drop_at` commits, then raises as a dropped
    connection would."""

    def __init__(self, pool: asyncpg.Pool, drop_at: int) -> None:
        self.pool = pool
        self.drop_at = drop_at
        self.transactions = 0

    async def execute(self, *args: Any, **kw: Any) -> Any:
        return await self.pool.execute(*args, **kw)

    async def fetch(self, *args: Any, **kw: Any) -> Any:
        return await self.pool.fetch(*args, **kw)

    async def fetchrow(self, *args: Any, **kw: Any) -> Any:
        return await self.pool.fetchrow(*args, **kw)

    async def fetchval(self, *args: Any, **kw: Any) -> Any:
        return await self.pool.fetchval(*args, **kw)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.transactions += 1
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                yield conn
            if self.transactions == self.drop_at:
                raise asyncpg.exceptions.ConnectionDoesNotExistError(
                    "connection was closed in the middle of operation"
                )


async def _running_task(ctx: AppContext, make_repo: Any) -> Any:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    task = await task_service.submit(
        ctx, task_service.SubmitRequest(repository=str(root), prompt="probe", model="scripted:echo")
    )
    (claimed,) = await queue.claim(ctx.db.pool, "probe-worker", lease_seconds=60)
    assert claimed.id == task.id
    return claimed


def _writer(ctx: AppContext, task: Any, db: Any) -> EventWriter:
    return EventWriter(
        db, task_id=task.id, user_id=task.owner_id, lease_owner=task.lease_owner or "",
        provider="scripted", model=task.model, retry_for=5.0,
    )  # fmt: skip


async def test_a_transcript_write_whose_commit_got_through_is_not_written_twice(
    ctx: AppContext, make_repo: Any
) -> None:
    task = await _running_task(ctx, make_repo)
    before = await events.last_seq(ctx.db.pool, task.id)
    writer = _writer(ctx, task, CommitThenDrop(ctx.db.pool, drop_at=1))
    await writer.write(EventKind.STATUS, {"status": "probe", "detail": "written once"})
    written = await events.list_events(ctx.db.pool, task.id, after_seq=before)
    assert [e.payload.get("detail") for e in written] == ["written once"]


async def test_a_usage_record_whose_commit_got_through_is_not_billed_twice(
    ctx: AppContext, make_repo: Any
) -> None:
    task = await _running_task(ctx, make_repo)
    # Transaction 1 appends the usage event; transaction 2 records the call and its cost.
    writer = _writer(ctx, task, CommitThenDrop(ctx.db.pool, drop_at=2))
    await writer(
        AgentEvent(
            EventKind.USAGE,
            {"input_tokens": 1000, "output_tokens": 100, "cost": "0.0045", "failed": False},
        )
    )
    calls = await ctx.db.pool.fetchval("SELECT count(*) FROM api_usage WHERE task_id = $1", task.id)
    cost = await ctx.db.pool.fetchval("SELECT cost FROM tasks WHERE id = $1", task.id)
    assert (calls, Decimal(cost)) == (1, Decimal("0.0045"))
