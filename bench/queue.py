"""Bench: no-op tasks claimed and completed by our queue against PgQueuer, same server, same run.

Our side is the real claim path (`db/queue.py` `claim`: the `claim_tasks` function with its
lease tokens, on the task row with its indexes, triggers and NOTIFY) plus a minimal
lease-checked finish (`finish_owned`, or `finish_many` for a batch). PgQueuer's side is its own
dequeue and completion queries (`Queries.dequeue`, `Queries.log_jobs`: pick, then delete from
the queue and write the log row), with no concurrency limit. Both run on one embedded
PostgreSQL started for the bench, in one database, with the same number of consumers and the
same batch size. Each consumer works on a connection of its own, as a worker does, so neither
queue pays for the pool's acquire and reset round trips.

Ours runs twice a scenario: with no running limit (as PgQueuer does here: claims side by side,
SKIP LOCKED alone) and with per-user and per-provider limits set (counted and enforced under
the claim lock, as the default settings do; set high enough never to be reached). Each scenario
rotates the three for several rounds, and keeps each one's best.

    python -m bench.queue [--tasks 2000] [--rounds 6] [--consumers 4] [--batch 20]

Prints `name: value unit (ratio X vs REFERENCE)` lines. Target: ratio >= 1.0 and at least 2,500
tasks/s single-claim.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as `python bench/queue.py`, this file's folder would come first on sys.path and its name
# would hide the standard library's `queue` module: put the repository root there instead.
_ROOT = str(Path(__file__).resolve().parents[1])
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = _ROOT
elif _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

import asyncpg  # noqa: E402

from asynccoder_tui.db import queue as our_queue  # noqa: E402
from asynccoder_tui.db.migrate import apply_migrations  # noqa: E402
from asynccoder_tui.db.pool import create_pool  # noqa: E402
from asynccoder_tui.db.server import start_embedded  # noqa: E402
from asynccoder_tui.db.tasks import NewTask  # noqa: E402

LIMITS = 100_000  # the lock path's limits: counted and enforced, never reached here


@dataclass(frozen=True)
class Scenario:
    name: str
    batch: int
    consumers: int


async def _setup_ours(pool: asyncpg.Pool) -> tuple[uuid.UUID, uuid.UUID]:
    user = await pool.fetchval(
        "INSERT INTO users (username, credits) VALUES ('bench', 0) RETURNING id"
    )
    repo = await pool.fetchval(
        """INSERT INTO repositories (owner_id, kind, name, local_path)
           VALUES ($1, 'local', 'bench', '/bench') RETURNING id""",
        user,
    )
    return user, repo


async def _fill_ours(pool: asyncpg.Pool, owner: uuid.UUID, repo: uuid.UUID, n: int) -> None:
    new = NewTask(owner_id=owner, repository_id=repo, model="scripted:echo", title="noop",
                  prompt="noop")  # fmt: skip
    for start in range(0, n, 5000):
        await our_queue.insert_tasks(pool, [new] * min(5000, n - start))
    await pool.execute("VACUUM ANALYZE tasks")


async def _consume_ours(conn: Any, batch: int, worker: str, *, limits: bool = False) -> int:
    done = 0
    cap = LIMITS if limits else None
    while True:
        claimed = await our_queue.claim(
            conn, worker, lease_seconds=30, limit=batch, user_limit=cap, provider_limit=cap
        )
        if not claimed:
            return done
        if batch == 1:
            (task,) = claimed
            assert task.lease_owner is not None
            assert await our_queue.finish_owned(conn, task.id, task.lease_owner)
        else:
            runs = [(t.id, t.lease_owner or "") for t in claimed]
            assert await our_queue.finish_many(conn, runs) == len(runs)
        done += len(claimed)


def _pgq_queries(db: Any) -> Any:
    from pgqueuer.adapters.persistence.queries import Queries

    if isinstance(db, asyncpg.Pool):
        return Queries.from_asyncpg_pool(db)
    return Queries.from_asyncpg_connection(db)


async def _fill_pgq(pool: asyncpg.Pool, n: int) -> None:
    queries = _pgq_queries(pool)
    for start in range(0, n, 5000):
        size = min(5000, n - start)
        await queries.enqueue(["noop"] * size, [None] * size, [0] * size)
    await pool.execute("VACUUM ANALYZE pgqueuer")


async def _consume_ours_limited(conn: Any, batch: int, worker: str) -> int:
    return await _consume_ours(conn, batch, worker, limits=True)


async def _consume_pgq(conn: Any, batch: int, worker: str) -> int:
    from pgqueuer.ports.repository import EntrypointExecutionParameter

    queries = _pgq_queries(conn)
    entrypoints = {"noop": EntrypointExecutionParameter(concurrency_limit=0)}
    manager = uuid.uuid4()
    done = 0
    while True:
        jobs = await queries.dequeue(
            batch_size=batch, entrypoints=entrypoints, queue_manager_id=manager,
            global_concurrency_limit=None, heartbeat_timeout=timedelta(seconds=30),
        )  # fmt: skip
        if not jobs:
            return done
        if batch == 1:
            await queries.log_jobs([(jobs[0], "successful", None)])
        else:
            await queries.log_jobs([(job, "successful", None) for job in jobs])
        done += len(jobs)


async def _timed(
    consume: Callable[[Any, int, str], Awaitable[int]],
    pool: asyncpg.Pool,
    scenario: Scenario,
    expected: int,
) -> float:
    """Tasks a second for `consume` run by each consumer on a connection of its own (as a
    worker holds one; it spares both queues the pool's acquire and reset round trips)."""
    conns = [await pool.acquire() for _ in range(scenario.consumers)]
    try:
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(consume(conn, scenario.batch, f"bench-{n}") for n, conn in enumerate(conns))
        )
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            await pool.release(conn)
    if sum(counts) != expected:
        raise RuntimeError(f"{scenario.name}: {sum(counts)} tasks done of {expected}")
    return expected / elapsed


async def _run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ac-bench-queue-"))
    server = await asyncio.to_thread(start_embedded, folder / "pg")
    try:
        admin = await asyncpg.connect(server.url("postgres"))
        await admin.execute("CREATE DATABASE bench_queue")
        await admin.close()
        url = server.url("bench_queue")
        size = max(args.consumers, 1) + 1
        pool = await create_pool(url, min_size=size, max_size=size)
        await apply_migrations(pool)
        await _pgq_queries(pool).install()
        owner, repo = await _setup_ours(pool)
        scenarios = [
            Scenario("single claim, 1 consumer", 1, 1),
            Scenario(f"single claim, {args.consumers} consumers", 1, args.consumers),
            Scenario(f"batch of {args.batch}, 1 consumer", args.batch, 1),
            Scenario(f"batch of {args.batch}, {args.consumers} consumers", args.batch,
                     args.consumers),
        ]  # fmt: skip
        for scenario in scenarios:
            n = args.tasks * (4 if scenario.batch > 1 else 1)
            ours: list[float] = []
            limited: list[float] = []
            theirs: list[float] = []
            sides = ("ours", "limited", "pgq")
            for round_ in range(args.rounds):
                # Rotate who goes first: load from elsewhere on the machine drifts.
                for side in sides[round_ % 3 :] + sides[: round_ % 3]:
                    if side == "pgq":
                        await _fill_pgq(pool, n)
                        theirs.append(await _timed(_consume_pgq, pool, scenario, n))
                        await pool.execute("TRUNCATE pgqueuer_log")
                        continue
                    await _fill_ours(pool, owner, repo, n)
                    if side == "ours":
                        ours.append(await _timed(_consume_ours, pool, scenario, n))
                    else:
                        limited.append(await _timed(_consume_ours_limited, pool, scenario, n))
            ref = max(theirs)
            for label, runs in (("", ours), (", with running limits", limited)):
                best = max(runs)
                print(
                    f"queue {scenario.name}{label}: {best:,.0f} tasks/s "
                    f"(ratio {best / ref:.2f} vs PgQueuer {ref:,.0f} tasks/s)",
                    flush=True,
                )
        await pool.close()
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per single-claim round")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=20)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
