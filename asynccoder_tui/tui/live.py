"""Turns the database's LISTEN/NOTIFY bus into Textual messages for the main screen.

Notifications arrive as ids; a burst (a running agent appends events ten times a second, a
worker updates many tasks) is coalesced over `BATCH_SECONDS` into one message per kind: the
screen re-reads each changed task once, and each transcript once up to its newest event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from textual.message import Message

from asynccoder_tui.tui.messages import (
    ConnectionChanged,
    CreditsChanged,
    Resync,
    TaskEventsAppended,
    TasksChanged,
)

if TYPE_CHECKING:
    from asynccoder_tui.services.context import AppContext

log = logging.getLogger(__name__)

CHANNELS = ("task_status", "task_events", "credits", "pull_requests", "task_queued")
BATCH_SECONDS = 0.05


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text.strip())
    except ValueError:
        return None


def decode(notes: list[tuple[str, str]], user_id: UUID) -> list[Message]:
    """The messages for a batch of (channel, payload) notifications, in a stable order."""
    changed: set[UUID] = set()
    queued: set[UUID] = set()
    seqs: dict[UUID, int] = {}
    out: list[Message] = []
    credits = resync = False
    state: bool | None = None
    for channel, payload in notes:
        if channel in ("task_status", "pull_requests"):
            if (task_id := _uuid(payload)) is not None:
                changed.add(task_id)
        elif channel == "task_queued":
            if (task_id := _uuid(payload)) is not None:
                queued.add(task_id)
        elif channel == "task_events":
            raw_id, _, raw_seq = payload.partition(":")
            task_id = _uuid(raw_id)
            if task_id is not None:
                seq = int(raw_seq) if raw_seq.isdigit() else 0
                seqs[task_id] = max(seq, seqs.get(task_id, 0))
        elif channel == "credits":
            credits = credits or payload.strip() == str(user_id)
        elif channel == "__resync__":
            resync = True
        elif channel == "__state__":
            state = payload == "connected"
    if state is not None:
        out.append(ConnectionChanged(state))
    if resync:
        out.append(Resync())
    if changed or queued:
        out.append(TasksChanged(frozenset(changed | queued), queued=frozenset(queued)))
    out.extend(TaskEventsAppended(task_id, seq) for task_id, seq in seqs.items())
    if credits:
        out.append(CreditsChanged())
    return out


async def listen(ctx: AppContext, post: Callable[[Message], object]) -> None:
    """Deliver live updates to `post` until cancelled (reconnects are the bus's own work)."""
    from asynccoder_tui.services.live import open_bus

    bus = await open_bus(ctx)
    sub = bus.subscribe(CHANNELS)
    try:
        while True:
            first = await sub.get()
            await asyncio.sleep(BATCH_SECONDS)
            notes = [(first.channel, first.payload)]
            while not sub.queue.empty():
                note = sub.queue.get_nowait()
                notes.append((note.channel, note.payload))
            for message in decode(notes, ctx.user.id):
                post(message)
    finally:
        sub.close()
        await bus.stop()
