"""`EventWriter`: the agent's `emit` callback, writing its events into the task transcript.

- Text deltas are coalesced: they are buffered and written together about ten times a second
  (`flush_interval`), so a fast stream costs a handful of rows, not one per token. While text
  keeps arriving the flush timer keeps running; nothing waits in the buffer for the next event.
- Any other event first flushes the buffered text, so the transcript keeps the order in which
  things happened.
- `usage` events also add an `api_usage` row and the task's running totals, in one statement
  that checks the lease.
- Every write is lease-checked against the run's lease token: once the task is no longer this
  run's, writing raises `LeaseLostError` and the runner stops.
- A write that fails because the database is unreachable (a restart, a dropped connection) is
  retried with backoff for up to `retry_for` seconds; the agent waits meanwhile. Retries are
  safe when the first try's commit got through before the connection dropped: a batch of
  events carries a write id and a usage record a key, so the retry finds what was written
  instead of writing it twice. Text whose write failed for good is put back in the buffer,
  never silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from uuid import UUID

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.db import events, queue
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.enums import EventKind

log = logging.getLogger(__name__)

T = TypeVar("T")


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


async def retry_transient(
    operation: Callable[[], Awaitable[T]],
    *,
    retry_for: float,
    what: str,
    first_delay: float = 0.05,
    max_delay: float = 2.0,
) -> T:
    """Run `operation`, again and again while it fails because the database is unreachable,
    for up to `retry_for` seconds; then (or on any other error) raise what it raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_for
    delay = first_delay
    while True:
        try:
            return await operation()
        except Exception as err:
            if not queue.is_transient(err) or loop.time() + delay > deadline:
                raise
            log.warning("%s: database unreachable (%s); retrying in %.2f s", what, err, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


class EventWriter:
    def __init__(
        self,
        db: Executor,
        *,
        task_id: UUID,
        user_id: UUID,
        lease_owner: str,
        provider: str,
        model: str,
        execution_id: UUID | None = None,
        flush_interval: float = 0.1,
        retry_for: float = 30.0,
    ) -> None:
        self.db = db
        self.task_id = task_id
        self.user_id = user_id
        self.lease_owner = lease_owner
        self.provider = provider
        self.model = model
        self.execution_id = execution_id
        self.flush_interval = flush_interval
        self.retry_for = retry_for
        self._text: list[str] = []
        self._text_step = 0
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self.lost: LeaseLostError | None = None
        self.rows_written = 0

    async def __call__(self, event: AgentEvent) -> None:
        if self.lost is not None:
            raise self.lost
        if event.kind is EventKind.TEXT_DELTA:
            step = int(event.payload.get("step", 0) or 0)
            if self._text and step != self._text_step:
                await self._write([])  # a new step's text starts a new row
            self._text.append(str(event.payload.get("text", "")))
            self._text_step = step
            if self._timer is None or self._timer.done():
                self._timer = asyncio.create_task(self._flush_later())
            return
        await self._write([(event.kind, event.payload)])
        if event.kind is EventKind.USAGE and not event.payload.get("estimated_only"):
            await self._record_usage(event.payload)

    async def write(self, kind: EventKind, payload: dict[str, Any]) -> None:
        """Append an event of the engine's own (status changes, workspace and git steps)."""
        await self._write([(kind, payload)])

    async def _flush_later(self) -> None:
        """Flush every `flush_interval` while there is buffered text."""
        while True:
            await asyncio.sleep(self.flush_interval)
            if not self._text:
                return
            try:
                await self._write([])
            except LeaseLostError as err:
                self.lost = err
                return
            except Exception:
                log.exception("writing streamed text failed", extra={"task": str(self.task_id)})
                return

    def _take_text(self) -> list[tuple[EventKind, dict[str, Any]]]:
        if not self._text:
            return []
        text = "".join(self._text)
        self._text.clear()
        return [(EventKind.TEXT_DELTA, {"text": text, "step": self._text_step})]

    async def _write(self, batch: list[tuple[EventKind, dict[str, Any]]]) -> None:
        async with self._lock:
            text = self._take_text()
            rows = text + batch
            if not rows:
                return
            write_id = uuid.uuid4()
            attempts = 0

            async def append() -> None:
                nonlocal attempts
                attempts += 1
                await events.append_events(
                    self.db, self.task_id, rows, lease_owner=self.lease_owner,
                    write_id=write_id, retried=attempts > 1,
                )  # fmt: skip

            try:
                await retry_transient(
                    append, retry_for=self.retry_for, what="writing the transcript"
                )
            except LeaseLostError as err:
                self.lost = err
                raise
            except BaseException:
                if text:  # keep the text for the next attempt; it is not lost
                    self._text.insert(0, str(text[0][1]["text"]))
                raise
            self.rows_written += len(rows)

    async def _record_usage(self, payload: dict[str, Any]) -> None:
        key = f"{self.task_id}:{uuid.uuid4()}"  # one call, however often it is retried

        async def record() -> None:
            held = await queue.record_call(
                self.db, self.task_id, self.lease_owner, key=key, user_id=self.user_id,
                execution_id=self.execution_id, provider=self.provider, model=self.model,
                input_tokens=int(payload.get("input_tokens", 0) or 0),
                output_tokens=int(payload.get("output_tokens", 0) or 0),
                cache_read_tokens=int(payload.get("cache_read_tokens", 0) or 0),
                cache_write_tokens=int(payload.get("cache_write_tokens", 0) or 0),
                cost=_decimal(payload.get("cost")),
            )  # fmt: skip
            if not held:
                self.lost = LeaseLostError(
                    f"task {self.task_id} is no longer leased to {self.lease_owner}"
                )
                raise self.lost

        await retry_transient(record, retry_for=self.retry_for, what="recording usage")

    async def close(self) -> None:
        """Write whatever text is still buffered, then stop the flush timer.

        The write comes first: it waits for a flush in progress instead of cancelling it
        halfway through a statement."""
        try:
            await self._write([])
        finally:
            if self._timer is not None and not self._timer.done():
                self._timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._timer
