"""`WorkerPool`: N task runners in this process, plus the rescue loop.

A dispatcher claims as many tasks as there are free slots (one claim statement), and starts a
runner for each. It wakes on `task_queued` notifications and, as a fallback for lost
notifications, polls every `poll_interval` seconds; after the bus reconnects it rescans at once.
The rescue loop puts back tasks whose worker died (expired lease). `stop()` cancels the runners,
which give their tasks back to the queue without using an attempt; the work in their
workspaces is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.config import Settings
from asynccoder_tui.db import agents, queue, tasks, workers
from asynccoder_tui.db.bus import RESYNC, EventBus
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.models import Task
from asynccoder_tui.engine.queue import rescue_expired
from asynccoder_tui.engine.runner import TaskRunner, TokenSource
from asynccoder_tui.vcs.workspace import WorkspaceManager

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class PoolStatus:
    worker_id: str
    concurrency: int
    running: int
    completed: int
    started: bool


class WorkerPool:
    def __init__(
        self,
        db: Executor,
        settings: Settings,
        *,
        concurrency: int,
        bus: EventBus | None = None,
        workspaces: WorkspaceManager | None = None,
        github_token: TokenSource | None = None,
        worker_id: str | None = None,
        poll_interval: float = 2.0,
        rescue_interval: float = 5.0,
        on_finished: Callable[[Task], None] | None = None,
        retry_policy: RetryPolicy | None = None,
        backoff_base: float = 2.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.concurrency = max(0, concurrency)
        self.bus = bus
        self.worker_id = worker_id or new_worker_id()
        self.workspaces = workspaces or WorkspaceManager.from_settings(settings)
        self.runner = TaskRunner(
            db, settings, worker_id=self.worker_id, workspaces=self.workspaces, bus=bus,
            github_token=github_token, retry_policy=retry_policy, backoff_base=backoff_base,
        )  # fmt: skip
        self.backoff_base = backoff_base
        self.poll_interval = poll_interval
        self.rescue_interval = rescue_interval
        self.on_finished = on_finished
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._leases: dict[asyncio.Task[None], str] = {}
        """Lease token of each live run (the rescue loop leaves these to their heartbeats)."""
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self.completed = 0

    @property
    def status(self) -> PoolStatus:
        return PoolStatus(
            worker_id=self.worker_id,
            concurrency=self.concurrency,
            running=len(self._running),
            completed=self.completed,
            started=bool(self._loops),
        )

    async def start(self) -> None:
        if self._loops:
            return
        await workers.register(
            self.db, self.worker_id, hostname=socket.gethostname(), pid=os.getpid(),
            concurrency=self.concurrency,
        )  # fmt: skip
        await self._reclaim_orphans()
        self._loops = [
            asyncio.create_task(self._dispatch(), name="worker-dispatch"),
            asyncio.create_task(self._rescue(), name="worker-rescue"),
        ]
        if self.bus is not None:
            self._loops.append(asyncio.create_task(self._listen(), name="worker-listen"))

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop claiming, give running tasks back to the queue, unregister."""
        self._stopping = True
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        self._loops = []
        running = list(self._running)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=timeout)
        with contextlib.suppress(Exception):
            await workers.unregister(self.db, self.worker_id)

    async def drain(self) -> None:
        """Wait until no runner is busy (tests and `worker --once`)."""
        while self._running:
            await asyncio.wait(list(self._running))

    # -- loops ----------------------------------------------------------------------------------

    async def _dispatch(self) -> None:
        while not self._stopping:
            free = self.concurrency - len(self._running)
            claimed: list[Task] = []
            if free > 0:
                try:
                    claimed = await queue.claim(
                        self.db,
                        self.worker_id,
                        lease_seconds=self.settings.lease_seconds,
                        limit=free,
                        # 0 in the settings: no limit.
                        user_limit=self.settings.max_concurrent_tasks_per_user or None,
                        provider_limit=self.settings.max_concurrent_per_provider or None,
                    )
                except Exception as err:
                    log.warning("claiming tasks failed: %s", err)
            for task in claimed:
                runner = asyncio.create_task(self._run(task), name=f"task-{task.id}")
                self._running.add(runner)
                self._leases[runner] = task.lease_owner or self.worker_id
                runner.add_done_callback(self._forget)
            if claimed and len(claimed) == free:
                continue  # there may be more: claim again as soon as a slot frees
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def _forget(self, runner: asyncio.Task[None]) -> None:
        self._running.discard(runner)
        self._leases.pop(runner, None)

    async def _run(self, task: Task) -> None:
        try:
            await self.runner.run(task)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("runner crashed", extra={"task": str(task.id)})
        finally:
            self.completed += 1
            self._wake.set()
        if self.on_finished is not None:
            with contextlib.suppress(Exception):
                self.on_finished(await tasks.get_task(self.db, task.id))

    async def _rescue(self) -> None:
        while not self._stopping:
            try:
                rescued = await rescue_expired(
                    self.db,
                    credits_per_usd=self.settings.credits_per_usd,
                    backoff_base=self.backoff_base,
                    exclude=list(self._leases.values()),
                )
                if rescued:
                    self._wake.set()
                await workers.beat(self.db, self.worker_id, len(self._running))
                await agents.recompute_loads(self.db)
            except Exception as err:
                log.warning("rescue pass failed: %s", err)
            await asyncio.sleep(self.rescue_interval)

    async def _listen(self) -> None:
        assert self.bus is not None
        sub = self.bus.subscribe(["task_queued"])
        try:
            while True:
                note = await sub.get()
                if note.channel in ("task_queued", RESYNC):
                    self._wake.set()
        finally:
            sub.close()

    async def _reclaim_orphans(self) -> None:
        """Clean up worktrees left by a killed process; keep (and report) any holding work."""
        try:
            found = await self.workspaces.find_orphans()
        except Exception as err:
            log.warning("looking for orphaned workspaces failed: %s", err)
            return
        for orphan in found:
            try:
                if not await self.workspaces.reclaim(orphan):
                    log.warning(
                        "orphaned workspace kept: it holds unsaved work",
                        extra={"orphan": str(orphan)},
                    )
            except Exception as err:
                log.warning("reclaiming an orphaned workspace failed: %s", err)
