"""Worker killed: `kill -9` of a worker process at a chosen moment of a running task.

Each round starts a worker process (`worker_process.py`, a `python -c` running a
`WorkerPool`), submits one task whose plan streams slowly, runs a slow command, writes a few
hundred files and finishes, and kills the worker in one phase of it:

- `stream`: while the model's text streams in (a random moment of it);
- `tool`: while the sandboxed command runs (a random moment of it);
- `commit`: while `git add` or `git commit` of the task's changes runs (seen as a child
  process of the worker);
- `settle`: inside the transaction that settles the bill (the round holds the user's row
  lock so the settle waits on it; the worker dies while it waits).

Then a new pool starts in this process (its start reclaims orphaned worktrees) and the round
checks: the task was back in the queue (or finished) within lease + 10 s, it then finished,
its executions never overlapped (no two attempts at once), its transcript has no gap or
duplicate, no orphaned worktree is left, and the database invariants hold (ledger balanced).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil

from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.workspace import WorkspaceManager
from tests.reliability.harness import git, make_repository, poll, quick_settings, top_up
from tests.reliability.invariants import database_problems

PHASES = ("stream", "tool", "commit", "settle")
REPO_ROOT = Path(__file__).resolve().parents[2]
LEASE = 3.0
FILES = 400


class WarmWorker:
    """A worker process started ahead of time; it claims nothing until `go()`."""

    def __init__(self, db_url: str, lease: float = LEASE) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "RELIABILITY_LEASE": str(lease),
            "PYTHONPATH": str(REPO_ROOT),
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.worker_id = ""

    async def load(self, timeout: float = 60) -> WarmWorker:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from tests.reliability.worker_process import main; main()",
            env=self.env, cwd=str(REPO_ROOT), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line.strip() == b"loaded", line
        return self

    async def go(self, timeout: float = 60) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line.startswith(b"ready "), line
        self.worker_id = line.decode().split()[1]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.kill()
        await self.proc.wait()


def kill_plan(folder: Path) -> str:
    """A `scripted:@` model: a slow stream, a slow command, many files, then finish."""
    turns = [
        {"text": "Looking around the project first. " * 3, "delay": 0.04, "chunk_chars": 4,
         "tool_calls": [{"name": "run", "arguments": {"command": "sleep 1.5; echo slept"}}]},
        {"text": "Writing the generated files.",
         "tool_calls": [{"name": "run", "arguments": {
             "command": f"mkdir -p gen && for i in $(seq {FILES}); do echo $i > gen/f$i.txt; done"}}]},
        {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "survived"}}]},
    ]  # fmt: skip
    path = folder / "kill-plan.json"
    path.write_text(json.dumps({"turns": turns}))
    return f"scripted:@{path}"


@dataclass
class KillRound:
    phase: str
    task_id: UUID
    landed: bool = False
    """True when the kill hit the task while it was running (not after it had finished)."""
    back_after: float | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class WorkerKillReport:
    rounds: list[KillRound] = field(default_factory=list)
    database: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def stuck(self) -> int:
        return sum(1 for r in self.rounds if any("stuck" in p for p in r.problems))

    @property
    def lost_events(self) -> int:
        return sum(1 for p in self.database if "transcript" in p)

    @property
    def balanced(self) -> bool:
        return not any("holds" in p or "balance" in p or "debited" in p for p in self.database)

    def line(self) -> str:
        landed = {phase: sum(1 for r in self.rounds if r.phase == phase and r.landed)
                  for phase in PHASES}  # fmt: skip
        worst = max((r.back_after or 0.0 for r in self.rounds), default=0.0)
        other = sum(len(r.problems) for r in self.rounds) - self.stuck
        return (
            f"worker_kill: {len(self.rounds)} rounds (kills landed mid-task: {landed}), "
            f"{self.stuck} stuck, back in the queue within {worst:.1f} s (bound {LEASE + 10:g} s), "
            f"{self.lost_events} lost events, {len(self.orphans)} orphaned worktrees, "
            f"{other} other problems, ledger {'balanced' if self.balanced else 'UNBALANCED'}"
        )

    def problems(self) -> list[str]:
        return [p for r in self.rounds for p in r.problems] + self.database + self.orphans


async def _events(ctx: AppContext, task_id: UUID) -> list[Any]:
    return await task_service.transcript(ctx, task_id)


async def _reach_phase(
    ctx: AppContext, task_id: UUID, phase: str, worker: WarmWorker, rng: random.Random
) -> None:
    """Return at a moment of `phase` of the task's run (for settle: with the user's row locked
    by `ctx`'s held connection, see `_settle_lock`)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if phase == "commit":
            if _committing(worker.pid):
                await asyncio.sleep(rng.uniform(0, 0.01))
                return
            await asyncio.sleep(0.002)
            continue
        events = await _events(ctx, task_id)
        kinds = [(e.kind.value, e.payload) for e in events]
        if phase == "stream":
            if any(k == "text_delta" for k, _ in kinds) and not any(
                k == "tool_call" for k, _ in kinds
            ):
                await asyncio.sleep(rng.uniform(0, 0.4))
                return
        elif phase == "tool":
            if (
                kinds
                and kinds[-1][0] == "tool_call"
                and "sleep" in str(kinds[-1][1].get("arguments"))
            ):
                await asyncio.sleep(rng.uniform(0, 1.2))
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the task never reached its {phase} phase")


def _committing(pid: int) -> bool:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return False
    for child in children:
        with contextlib.suppress(psutil.Error):
            argv = child.cmdline()
            if (
                argv
                and os.path.basename(argv[0]) == "git"
                and ("commit" in argv or ("add" in argv and "--all" in argv))
            ):
                return True
    return False


@contextlib.asynccontextmanager
async def _settle_lock(ctx: AppContext, user_id: UUID) -> Any:
    """Hold the user's row (as an UPDATE would) until the block exits: a settle waits on it."""
    conn = await ctx.db.connect_direct()
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id)
        yield conn
        await tx.rollback()
    finally:
        await conn.close()


async def _wait_blocked(ctx: AppContext, holder_pid: int, timeout: float = 60) -> None:
    async def blocked() -> bool:
        return bool(
            await ctx.db.pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                holder_pid,
            )
        )

    await poll(blocked, timeout=timeout, what="the settle to wait on the held row")


async def worker_kill_round(
    db_url: str, workdir: Path, *, rounds: int = 4, seed: int = 5
) -> WorkerKillReport:
    rng = random.Random(seed)
    settings = quick_settings(db_url, lease_seconds=LEASE)
    ctx = await AppContext.open(settings)
    report = WorkerKillReport()
    manager = WorkspaceManager.from_settings(settings)
    warm: WarmWorker | None = None
    try:
        await top_up(ctx)
        root = make_repository(workdir / "project")
        await repos.add_repo(ctx, str(root))
        model = kill_plan(workdir)
        warm = await WarmWorker(db_url).load()
        for number in range(rounds):
            phase = PHASES[number % len(PHASES)]
            doomed, warm = warm, None
            await doomed.go()
            next_worker = asyncio.create_task(WarmWorker(db_url).load())
            try:
                result = await _one_round(ctx, settings, root, model, phase, doomed, rng)
            finally:
                await doomed.stop()
                warm = await next_worker
            report.rounds.append(result)
        # The next start (a fresh manager, as a new process would have) finds nothing left.
        for orphan in await manager.find_orphans():
            report.orphans.append(f"orphaned worktree {orphan.path}: {orphan.reason}")
        listing = git(root, "worktree", "list", "--porcelain")
        if "prunable" in listing:
            report.orphans.append(f"git lists prunable worktrees: {listing}")
        report.database = await database_problems(ctx.db.pool)
    finally:
        if warm is not None:
            await warm.stop()
        await ctx.close()
    return report


async def _one_round(
    ctx: AppContext, settings: Any, root: Path, model: str, phase: str, doomed: WarmWorker,
    rng: random.Random,
) -> KillRound:  # fmt: skip
    task = await task_service.submit(
        ctx, task_service.SubmitRequest(repository=str(root), prompt=f"kill me in {phase}",
                                        model=model, max_attempts=5),
    )  # fmt: skip
    outcome = KillRound(phase, task.id)

    async def claimed() -> bool:
        return (
            await ctx.db.pool.fetchval("SELECT status FROM tasks WHERE id = $1", task.id)
        ) == "running"

    await poll(claimed, timeout=30, what="the worker to claim the task")
    if phase == "settle":
        async with _settle_lock(ctx, ctx.user.id) as holder:
            await _wait_blocked(ctx, holder.get_server_pid())
            await asyncio.sleep(rng.uniform(0, 0.05))
            outcome.landed = await _still_running(ctx, task.id)
            await doomed.kill()
    else:
        await _reach_phase(ctx, task.id, phase, doomed, rng)
        outcome.landed = await _still_running(ctx, task.id)
        await doomed.kill()
    killed_at = time.monotonic()
    bus = EventBus(ctx.db.url)
    await bus.start()
    pool = WorkerPool(
        ctx.db.pool, settings, concurrency=1, bus=bus, poll_interval=0.3, rescue_interval=0.5,
        backoff_base=0.1,
    )  # fmt: skip
    await pool.start()
    try:

        async def back() -> bool:
            row = await ctx.db.pool.fetchrow(
                "SELECT status, lease_owner FROM tasks WHERE id = $1", task.id
            )
            return row["status"] != "running" or not str(row["lease_owner"]).startswith(
                doomed.worker_id
            )

        try:
            await poll(back, timeout=LEASE + 10, what="the task to be taken back")
            outcome.back_after = time.monotonic() - killed_at
        except AssertionError as err:
            outcome.problems.append(f"{phase}: stuck: {err}")
            return outcome

        async def final() -> bool:
            status = await ctx.db.pool.fetchval("SELECT status FROM tasks WHERE id = $1", task.id)
            return status in ("completed", "failed", "cancelled")

        await poll(final, timeout=90, what="the rescued task to finish")
    finally:
        await pool.stop()
        await bus.stop()
    done = await task_service.get_task(ctx, task.id)
    if done.status.value != "completed" or done.summary != "survived":
        outcome.problems.append(f"{phase}: task ended {done.status.value}: {done.error}")
    executions = await ctx.db.pool.fetch(
        "SELECT status, started_at, finished_at FROM executions WHERE task_id = $1 "
        "ORDER BY started_at",
        task.id,
    )
    for first, second in itertools.pairwise(executions):
        if first["finished_at"] is None or first["finished_at"] > second["started_at"]:
            outcome.problems.append(
                f"{phase}: two attempts ran at once: {[dict(e) for e in executions]}"
            )
    if done.commit_sha:
        files = git(root, "ls-tree", "-r", "--name-only", done.commit_sha, "gen").split()
        if len(files) != FILES:
            outcome.problems.append(f"{phase}: the commit holds {len(files)} of {FILES} files")
    return outcome


async def _still_running(ctx: AppContext, task_id: UUID) -> bool:
    return (
        await ctx.db.pool.fetchval("SELECT status FROM tasks WHERE id = $1", task_id)
    ) == "running"
