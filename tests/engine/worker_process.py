"""A headless worker process for the multi-process tests: a `WorkerPool` and an `EventBus` on
`DATABASE_URL`, until SIGTERM (then a graceful stop). Prints `ready <worker id>` once claiming.

Environment: `DATABASE_URL`, `TEST_WORKER_CONCURRENCY`, `TEST_WORKER_LEASE` (seconds), and the
usual `ASYNCCODER_*` settings (the test shares its `ASYNCCODER_HOME`, so the workspaces too).
"""

from __future__ import annotations

import asyncio
import os
import signal


async def _serve() -> None:
    from asynccoder_tui.config import load_settings
    from asynccoder_tui.db.bus import EventBus
    from asynccoder_tui.engine.pool import WorkerPool
    from asynccoder_tui.services.context import AppContext

    settings = load_settings(sandbox="auto").model_copy(
        update={
            "lease_seconds": float(os.environ.get("TEST_WORKER_LEASE", "3")),
            "max_submissions_per_minute": 10_000,
            "max_concurrent_tasks_per_user": 100,
            "max_concurrent_per_provider": 100,
        }
    )
    ctx = await AppContext.open(settings)
    bus = EventBus(ctx.db.url)
    await bus.start()
    pool = WorkerPool(
        ctx.db.pool,
        settings,
        concurrency=int(os.environ.get("TEST_WORKER_CONCURRENCY", "1")),
        bus=bus,
        poll_interval=0.5,
        rescue_interval=0.5,
        backoff_base=0.1,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await pool.start()
    print(f"ready {pool.worker_id}", flush=True)
    await stop.wait()
    await pool.stop()
    await bus.stop()
    await ctx.close()


def main() -> None:
    asyncio.run(_serve())
