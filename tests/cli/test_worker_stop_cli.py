"""`asynccoder worker` stopped with Ctrl-C unregisters and gives its tasks back, even when the
reader of its piped stderr went away with the same Ctrl-C (`worker 2>&1 | tee log`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import asyncpg


def _worker_ids(db_url: str) -> set[str]:
    async def read() -> set[str]:
        conn = await asyncpg.connect(db_url)
        try:
            return {r["id"] for r in await conn.fetch("SELECT id FROM workers")}
        finally:
            await conn.close()

    return asyncio.run(read())


def test_worker_unregisters_on_sigint_when_its_stderr_is_gone(db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "asynccoder_tui", "worker", "--concurrency", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    worker_id = first.split()[1]
    assert worker_id in _worker_ids(db_url), first
    proc.stderr.close()  # the `tee` reading it died with the Ctrl-C
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert worker_id not in _worker_ids(db_url), "the worker stayed registered"
