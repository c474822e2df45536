"""Fixtures for the agent tests: a wire-format server, workspaces, models, an event recorder.

tiktoken is never allowed to download its encodings here: the agent's token counts fall back
to the documented estimate, and no test needs the network.
"""

from __future__ import annotations

import os

os.environ["ASYNCCODER_TIKTOKEN_DOWNLOAD"] = "0"

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.domain.enums import EventKind, ProviderKind
from asynccoder_tui.domain.models import AIModel
from tests.agent.wire import WireServer


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer()
    yield server
    server.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "README.md").write_text("# Project\n\nA small project.\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    return root


def make_model(
    name: str = "scripted:test",
    provider: ProviderKind = ProviderKind.SCRIPTED,
    *,
    input_price: str = "3",
    output_price: str = "15",
    cache_read_price: str = "0.30",
    cache_write_price: str = "3.75",
    context_window: int = 200_000,
    max_output: int = 8_192,
    **extra: Any,
) -> AIModel:
    return AIModel(
        id=uuid.uuid4(),
        name=name,
        provider=provider,
        display_name=name,
        input_price=Decimal(input_price),
        output_price=Decimal(output_price),
        cache_read_price=Decimal(cache_read_price),
        cache_write_price=Decimal(cache_write_price),
        context_window=context_window,
        max_output=max_output,
        **extra,
    )


class Recorder:
    """Collects emitted events (an async callback, as the engine's will be)."""

    def __init__(self) -> None:
        self.events: list[AgentEvent] = []

    async def __call__(self, event: AgentEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]

    def of(self, kind: EventKind) -> list[dict[str, Any]]:
        return [e.payload for e in self.events if e.kind is kind]

    def states(self) -> list[str]:
        return [p["state"] for p in self.of(EventKind.STATUS)]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
