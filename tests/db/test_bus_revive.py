"""The bus asks its `revive` hook to start the server again while it cannot connect."""

from __future__ import annotations

import asyncio
from pathlib import Path

from asynccoder_tui.db.bus import REVIVE_AFTER, EventBus


async def test_bus_calls_revive_while_the_server_is_gone(tmp_path: Path) -> None:
    calls = 0
    revived = asyncio.Event()

    async def revive() -> None:
        nonlocal calls
        calls += 1
        revived.set()

    url = f"postgresql://postgres@/asynccoder?host={tmp_path / 'no-server'}"
    bus = EventBus(url, reconnect_min=0.01, reconnect_max=0.02, revive=revive)
    await bus.start(wait=False)
    try:
        await asyncio.wait_for(revived.wait(), timeout=10)
    finally:
        await bus.stop()
    assert calls >= 1
    assert not bus.connected


async def test_a_failing_revive_does_not_stop_the_bus(tmp_path: Path) -> None:
    calls = 0

    async def revive() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("pg_ctl failed")

    url = f"postgresql://postgres@/asynccoder?host={tmp_path / 'no-server'}"
    bus = EventBus(url, reconnect_min=0.01, reconnect_max=0.02, revive=revive)
    await bus.start(wait=False)
    try:
        for _ in range(500):
            if calls >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await bus.stop()
    assert calls >= 2, f"revive was tried {calls} time(s) in {REVIVE_AFTER * 2}+ failures"
