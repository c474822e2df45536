"""A worker process for the kill rounds: `python -c` running a `WorkerPool` on `DATABASE_URL`.

It imports everything, prints `loaded`, and waits for a line on standard input before it
starts claiming (so a round can have the next worker warm while the last one is rescued);
then prints `ready <worker id>` and works until killed or sent SIGTERM.

Environment: `DATABASE_URL`, `RELIABILITY_LEASE` (seconds), `RELIABILITY_CONCURRENCY`, and the
usual `ASYNCCODER_*` settings (the round shares its `ASYNCCODER_HOME`: the same workspaces).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys


async def _serve() -> None:
    from asynccoder_tui.config import load_settings
    from asynccoder_tui.db.bus import EventBus
    from asynccoder_tui.engine.pool import WorkerPool
    from asynccoder_tui.services.context import AppContext

    settings = load_settings(sandbox="auto").model_copy(
        update={
            "lease_seconds": float(os.environ.get("RELIABILITY_LEASE", "3")),
            "max_submissions_per_minute": 100_000,
            "max_concurrent_tasks_per_user": 100,
            "max_concurrent_per_provider": 100,
        }
    )
    print("loaded", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    ctx = await AppContext.open(settings)
    bus = EventBus(ctx.db.url)
    await bus.start()
    pool = WorkerPool(
        ctx.db.pool, settings, concurrency=int(os.environ.get("RELIABILITY_CONCURRENCY", "1")),
        bus=bus, poll_interval=0.3, rescue_interval=0.5, backoff_base=0.1,
    )  # fmt: skip
    stop = asyncio.Event()
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
