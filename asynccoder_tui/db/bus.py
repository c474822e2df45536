"""The LISTEN/NOTIFY bus: one dedicated listening connection per process, fan-out to queues.

Channels (payloads carry ids only, well under PostgreSQL's 8000-byte limit):
- `task_status`: a task's id, when its status, cost or diff stats change (a trigger sends it);
- `task_queued`: a task's id, when it becomes runnable (workers wake on it);
- `task_cancel`: a task's id, when its owner asks to cancel it;
- `task_events`: `<task id>:<last seq>`, when events are appended to its transcript;
- `credits`: a user's id, when their balance changes;
- `pull_requests`: a task's id, when its pull request is created or changes state.

The connection is never a pooled one (LISTEN must stay on one session). When it drops, the bus
reconnects with backoff and then sends every subscriber a `RESYNC` notification: whatever was
announced while it was away is lost, so subscribers re-read what they show. With `revive` set
(the embedded server), every `REVIVE_AFTER` failed attempts in a row it is awaited first: a
server stopped under a running process (`asynccoder db stop --force`) is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from asynccoder_tui.db.pool import connect_one

log = logging.getLogger(__name__)

CHANNELS = ("task_status", "task_queued", "task_cancel", "task_events", "credits", "pull_requests")
RESYNC = "__resync__"
"""Channel of the notification sent after a reconnect (or a subscriber overflow)."""
STATE = "__state__"
"""Channel of connection-state notifications: payload `connected` or `disconnected`."""
REVIVE_AFTER = 3
"""Failed connection attempts in a row before `EventBus.revive` is tried."""


@dataclass(frozen=True)
class Notification:
    channel: str
    payload: str


@dataclass(eq=False)
class Subscription:
    channels: frozenset[str]
    queue: asyncio.Queue[Notification]
    bus: EventBus
    overflowed: bool = False

    def close(self) -> None:
        self.bus._subscribers.discard(self)

    async def get(self) -> Notification:
        return await self.queue.get()


@dataclass(eq=False)
class EventBus:
    url: str
    channels: tuple[str, ...] = CHANNELS
    reconnect_min: float = 0.1
    reconnect_max: float = 5.0
    revive: Callable[[], Awaitable[None]] | None = None
    _subscribers: set[Subscription] = field(default_factory=set)
    _conn: asyncpg.Connection | None = None
    _task: asyncio.Task[None] | None = None
    _lost: asyncio.Event = field(default_factory=asyncio.Event)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    connected: bool = False

    def subscribe(
        self, channels: Iterable[str] | None = None, *, maxsize: int = 10_000
    ) -> Subscription:
        """A queue receiving notifications of `channels` (all by default) plus RESYNC and STATE."""
        sub = Subscription(
            channels=frozenset(channels or self.channels) | {RESYNC, STATE},
            queue=asyncio.Queue(maxsize=maxsize),
            bus=self,
        )
        self._subscribers.add(sub)
        return sub

    async def start(self, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Start listening; with `wait`, return once the first connection is up (or raise)."""
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="event-bus")
        if wait:
            await self._connect_first(timeout)

    async def _connect_first(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=timeout)
        if not self._ready.is_set():
            from asynccoder_tui.domain.errors import DatabaseUnavailableError

            raise DatabaseUnavailableError("the live-update connection could not be opened")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._close_conn()

    async def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)

    def _publish(self, note: Notification) -> None:
        for sub in list(self._subscribers):
            if note.channel not in sub.channels:
                continue
            try:
                sub.queue.put_nowait(note)
            except asyncio.QueueFull:
                # The subscriber fell behind: drop, and tell it to re-read once it catches up.
                sub.overflowed = True
            else:
                if sub.overflowed and note.channel != RESYNC:
                    with contextlib.suppress(asyncio.QueueFull):
                        sub.queue.put_nowait(Notification(RESYNC, "overflow"))
                        sub.overflowed = False

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self._publish(Notification(channel, payload))

    def _on_terminate(self, conn: Any) -> None:
        self._lost.set()

    async def _supervise(self) -> None:
        delay = self.reconnect_min
        first = True
        failures = 0
        while True:
            try:
                conn = await connect_one(self.url, timeout=5)
                for channel in self.channels:
                    await conn.add_listener(channel, self._on_notify)
                conn.add_termination_listener(self._on_terminate)
            except Exception as err:
                if self.connected or first:
                    log.warning("live updates disconnected: %s", err)
                self._set_state(False)
                failures += 1
                if self.revive is not None and failures % REVIVE_AFTER == 0:
                    await self._revive()
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(delay * 2, self.reconnect_max)
                continue
            failures = 0
            self._conn = conn
            self._lost.clear()
            delay = self.reconnect_min
            self._set_state(True)
            if not first:
                self._publish(Notification(RESYNC, "reconnected"))
            first = False
            self._ready.set()
            await self._watch(conn)
            await self._close_conn()
            self._set_state(False)

    async def _revive(self) -> None:
        assert self.revive is not None
        try:
            await self.revive()
        except Exception as err:
            log.warning("could not start the database again: %s", err)

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Return when the connection is lost (termination callback or a failed ping)."""
        while not self._lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=2.0)
                return
            try:
                await asyncio.wait_for(conn.execute("SELECT 1"), timeout=3.0)
            except Exception:
                return

    def _set_state(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._publish(Notification(STATE, "connected" if connected else "disconnected"))
