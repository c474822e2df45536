"""Bench: how fast an event a worker process commits reaches a subscriber in another process.

A child process plays the worker: it appends transcript events through `EventWriter` (the path
a running task takes: a lease-checked append with its contiguous sequence number and the
`task_events` NOTIFY, in one transaction). This process plays the app: an `EventBus` on its own
listening connection, a subscription to `task_events`, and a coroutine that takes each
notification off the subscription's queue and stamps it. The reference, measured in the same
run and interleaved with ours, is the bare mechanism: the child sends `SELECT pg_notify(...)` and
a plain asyncpg listener callback here stamps it.

Both processes stamp with the system's wall clock. The commit happens somewhere between the
start of the write and the child getting its answer, so the bench reports the delay from the
start of the write (an upper bound, what the target is checked against) and, for p99, from the
answer (a lower bound; at p50 the subscriber usually has the event before the writer has its
answer).

    python -m bench.live_latency [--events 1000] [--interval 0.005]

Target: p99 at most 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from asynccoder_tui.db import queue
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.db.migrate import apply_migrations
from asynccoder_tui.db.pool import create_pool
from asynccoder_tui.db.server import start_embedded
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.engine.events import EventWriter

RAW_CHANNEL = "bench_raw"
SCRIPT = str(Path(__file__).resolve())


# -- the worker process -------------------------------------------------------------------------


async def _worker(
    url: str, task_id: str, user_id: str, lease: str, n: int, interval: float
) -> None:
    pool = await create_pool(url, min_size=2, max_size=2)
    writer = EventWriter(
        pool, task_id=uuid.UUID(task_id), user_id=uuid.UUID(user_id), lease_owner=lease,
        provider="scripted", model="scripted:echo",
    )  # fmt: skip
    out = sys.stdout
    for i in range(n):
        start = time.time_ns()
        await pool.execute("SELECT pg_notify($1, $2)", RAW_CHANNEL, str(i))
        out.write(f"raw {i} {start} {time.time_ns()}\n")
        await asyncio.sleep(interval / 2)
        start = time.time_ns()
        await writer.write(EventKind.STATUS, {"status": "bench", "n": i})
        out.write(f"ours {i + 1} {start} {time.time_ns()}\n")
        await asyncio.sleep(interval / 2)
    out.flush()
    await pool.close()


# -- the app process ----------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _app(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ac-bench-live-"))
    server = await asyncio.to_thread(start_embedded, folder / "pg")
    try:
        admin = await asyncpg.connect(server.url("postgres"))
        await admin.execute("CREATE DATABASE bench_live")
        await admin.close()
        url = server.url("bench_live")
        pool = await create_pool(url, min_size=1, max_size=2)
        await apply_migrations(pool)
        user = await pool.fetchval("INSERT INTO users (username) VALUES ('bench') RETURNING id")
        repo = await pool.fetchval(
            """INSERT INTO repositories (owner_id, kind, name, local_path)
               VALUES ($1, 'local', 'bench', '/bench') RETURNING id""",
            user,
        )
        await queue.insert_tasks(
            pool,
            [NewTask(owner_id=user, repository_id=repo, model="scripted:echo", title="live",
                     prompt="live")],
        )  # fmt: skip
        (task,) = await queue.claim(pool, "bench-worker", lease_seconds=3600)
        await pool.close()

        received: dict[tuple[str, int], int] = {}
        bus = EventBus(url)
        await bus.start()
        sub = bus.subscribe(["task_events"])
        raw = await asyncpg.connect(url)

        def on_raw(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            received[("raw", int(payload))] = time.time_ns()

        await raw.add_listener(RAW_CHANNEL, on_raw)

        async def consume() -> None:
            while True:
                note = await sub.get()
                if note.channel == "task_events":
                    received[("ours", int(note.payload.rsplit(":", 1)[1]))] = time.time_ns()

        consumer = asyncio.create_task(consume())
        child = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT, "--child", json.dumps(
                [url, str(task.id), str(user), task.lease_owner, args.events, args.interval]
            ),
            stdout=subprocess.PIPE,
        )  # fmt: skip
        stdout, _ = await child.communicate()
        await asyncio.sleep(0.2)  # the last notifications
        consumer.cancel()
        await raw.close()
        await bus.stop()

        sent: dict[tuple[str, int], tuple[int, int]] = {}
        for line in stdout.decode().splitlines():
            kind, key, start, end = line.split()
            sent[(kind, int(key))] = (int(start), int(end))
        skip = min(50, args.events // 10)  # warm-up: connections, plans, caches
        report = {}
        for kind in ("raw", "ours"):
            keys = [k for k in sent if k[0] == kind][skip:]
            missing = [k for k in keys if k not in received]
            if missing:
                raise SystemExit(f"{len(missing)} {kind} notifications never arrived")
            upper = [(received[k] - sent[k][0]) / 1e6 for k in keys]
            lower = [(received[k] - sent[k][1]) / 1e6 for k in keys]
            report[kind] = {
                "p50": _percentile(upper, 0.50),
                "p99": _percentile(upper, 0.99),
                "p99_ack": _percentile(lower, 0.99),
                "mean": statistics.fmean(upper),
                "n": len(keys),
            }
        ours, ref = report["ours"], report["raw"]
        for name, label in (
            ("p50", "p50 write start to delivery"),
            ("p99", "p99 write start to delivery"),
            ("p99_ack", "p99 commit answer to delivery"),
        ):
            ratio = ours[name] / ref[name] if ref[name] > 0 else float("nan")
            print(
                f"live latency {label}: {ours[name]:.2f} ms "
                f"(ratio {ratio:.2f} vs raw NOTIFY {ref[name]:.2f} ms)",
                flush=True,
            )
        print(
            f"live latency events: {ours['n']} events "
            f"(ratio 1.00 vs raw NOTIFY {ref['n']} notifications)",
            flush=True,
        )
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.005, help="seconds between events")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_worker(*json.loads(args.child)))
        return
    asyncio.run(_app(args))


if __name__ == "__main__":
    main()
