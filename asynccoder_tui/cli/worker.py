"""CLI command `worker`: run tasks from the queue in this process until SIGINT or SIGTERM; the
pool itself is in `services.live`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import opened, positive

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import live

    async with opened(settings) as ctx:
        pool = await live.start_worker_pool(ctx, concurrency=args.concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        print(
            f"worker {pool.worker_id} running {args.concurrency} task(s) at a time; Ctrl-C stops",
            file=sys.stderr,
        )
        try:
            await stop.wait()
            # Ctrl-C may have ended the reader of a piped stderr (`worker 2>&1 | tee log`).
            with contextlib.suppress(OSError):
                print("stopping: running tasks go back to the queue", file=sys.stderr)
        finally:
            await pool.stop()
    return 0


def register_worker_command(sub: Any) -> None:
    p = sub.add_parser("worker", help="run tasks from the queue until stopped (SIGINT/SIGTERM)")
    p.add_argument(
        "--concurrency", type=positive(64), default=2, help="tasks at a time (1-64, default 2)"
    )
    p.set_defaults(handler=cmd_worker)
