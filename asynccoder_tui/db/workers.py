"""Worker processes: registration and liveness, for the header's worker status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    hostname: str
    pid: int
    concurrency: int
    running: int
    last_seen_at: datetime


async def register(
    db: Executor, worker_id: str, *, hostname: str, pid: int, concurrency: int
) -> None:
    await db.execute(
        """INSERT INTO workers (id, hostname, pid, concurrency) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET last_seen_at = now(), concurrency = EXCLUDED.concurrency""",
        worker_id,
        hostname,
        pid,
        concurrency,
    )


async def beat(db: Executor, worker_id: str, running: int) -> None:
    await db.execute(
        "UPDATE workers SET last_seen_at = now(), running = $2 WHERE id = $1", worker_id, running
    )


async def unregister(db: Executor, worker_id: str) -> None:
    await db.execute("DELETE FROM workers WHERE id = $1", worker_id)


async def live_workers(db: Executor, *, within_seconds: float = 30) -> list[WorkerInfo]:
    rows = await db.fetch(
        """SELECT id, hostname, pid, concurrency, running, last_seen_at FROM workers
           WHERE last_seen_at > now() - make_interval(secs => $1) ORDER BY started_at""",
        float(within_seconds),
    )
    return [WorkerInfo(**dict(r)) for r in rows]


async def forget_stale(db: Executor, *, older_than_seconds: float = 300) -> None:
    await db.execute(
        "DELETE FROM workers WHERE last_seen_at < now() - make_interval(secs => $1)",
        float(older_than_seconds),
    )
