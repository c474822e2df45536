"""Racing work against the run's cancel event and its wall-clock deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """The run's cancel event fired while waiting."""


async def race(awaitable: Awaitable[T], cancel: asyncio.Event, deadline: float | None = None) -> T:
    """Await `awaitable` unless `cancel` fires first (`Cancelled`) or `deadline` seconds pass
    (`TimeoutError`); the loser is cancelled and awaited, so nothing is left running.

    When the calling task itself is cancelled, the work is cancelled too and the
    `CancelledError` propagates.
    """
    work = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(cancel.wait())
    try:
        done, _ = await asyncio.wait(
            {work, stopper}, timeout=deadline, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        work.cancel()
        stopper.cancel()
        await asyncio.gather(work, stopper, return_exceptions=True)
        raise
    if work in done:
        stopper.cancel()
        return work.result()
    work.cancel()
    stopper.cancel()
    await asyncio.gather(work, stopper, return_exceptions=True)
    if stopper in done:
        raise Cancelled
    raise TimeoutError
