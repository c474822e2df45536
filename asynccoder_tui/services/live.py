"""Live updates and in-process workers for the UI and the CLI.

`subscription(ctx, channels)` opens the LISTEN bus (`db/bus.py`) and yields an `Updates`
object whose `wait()` returns when anything on those channels changed (or on a timeout, the
polling fallback). `start_worker_pool` runs a `WorkerPool` in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from asynccoder_tui.db import workers
from asynccoder_tui.db.bus import EventBus, Notification, Subscription
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import resolve_token


@dataclass
class Updates:
    subscription: Subscription
    received: list[Notification] = field(default_factory=list)

    async def wait(self, timeout: float) -> list[Notification]:
        """Notifications that arrived (at least one), or [] after `timeout` seconds."""
        got: list[Notification] = []
        with contextlib.suppress(TimeoutError):
            got.append(await asyncio.wait_for(self.subscription.get(), timeout=timeout))
        while not self.subscription.queue.empty():
            got.append(self.subscription.queue.get_nowait())
        return got


async def open_bus(ctx: AppContext) -> EventBus:
    revive = ctx.db.revive_embedded if ctx.db.embedded is not None else None
    bus = EventBus(ctx.db.url, revive=revive)
    await bus.start()
    return bus


@asynccontextmanager
async def subscription(ctx: AppContext, channels: Iterable[str]) -> AsyncIterator[Updates]:
    bus = await open_bus(ctx)
    sub = bus.subscribe(channels)
    try:
        yield Updates(sub)
    finally:
        sub.close()
        await bus.stop()


async def workers_alive(ctx: AppContext) -> bool:
    return bool(
        await workers.live_workers(ctx.db.pool, within_seconds=ctx.settings.lease_seconds * 2)
    )


class LocalWorkers:
    """A worker pool and its own bus, stopped together."""

    def __init__(self, pool: WorkerPool, bus: EventBus) -> None:
        self.pool = pool
        self.bus = bus

    @property
    def worker_id(self) -> str:
        return self.pool.worker_id

    async def stop(self) -> None:
        await self.pool.stop()
        await self.bus.stop()


async def start_worker_pool(ctx: AppContext, *, concurrency: int) -> LocalWorkers:
    bus = await open_bus(ctx)

    async def token() -> str | None:
        return await resolve_token(ctx)

    pool = WorkerPool(
        ctx.db.pool, ctx.settings, concurrency=concurrency, bus=bus, github_token=token
    )
    await pool.start()
    return LocalWorkers(pool, bus)
