"""Events the loop emits while it works, and the adapter that delivers them.

An `AgentEvent` is a `kind` from `domain.enums.EventKind` plus a JSON-safe `payload` dict: the
shape of a `task_events` row. `Emitter` accepts a sync or async callback, stamps each event with
a sequence number and the step, and scrubs secrets (API keys, tokens, and any string the engine
registers) from every string in the payload before the callback sees it.

Payloads by kind (all carry `step`, the 1-based model call the event belongs to, 0 before the
first call):
- `status`: `state` ("started", "step", "compacted", "elided", "finished") and details; the
  "finished" event repeats the outcome (`exit_status`, `summary`, `usage`, `cost`, `steps`).
- `message`: `role` ("user" or "assistant") and `text`: whole messages, for a transcript that
  does not replay every delta.
- `text_delta`: `text`.
- `tool_call`: `id`, `name`, `arguments` (long string values capped for display), and
  `arguments_error` when they were not a JSON object.
- `tool_result`: `id`, `name`, `ok`, `output` (capped for display), `output_chars`, and
  `changed_path` when a file changed.
- `usage`: one provider call's `input_tokens`, `output_tokens`, `cache_read_tokens`,
  `cache_write_tokens`, `estimated`, `cost`, `failed` (the call failed and is billed anyway),
  and running `total_usage` and `total_cost`. Costs are decimal strings in US dollars.
- `retry`: `attempt`, `max_attempts`, `delay`, `reason`, `status`, `discard_partial` (text
  streamed by the failed attempt is superseded).
- `error`: `message`, `status`, `retryable`, `fatal`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from asynccoder_tui.agent.providers.errors import redact
from asynccoder_tui.domain.enums import EventKind

log = logging.getLogger(__name__)

DISPLAY_OUTPUT_CHARS = 8_000
"""Tool output kept in a `tool_result` event; the model saw the full (capped) result."""


@dataclass(frozen=True)
class AgentEvent:
    kind: EventKind
    payload: dict[str, Any]
    seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        """`{"kind": ..., "seq": ..., "payload": {...}}`, JSON-safe."""
        return {"kind": self.kind.value, "seq": self.seq, "payload": self.payload}


EmitCallback = Callable[[AgentEvent], Awaitable[None] | None]


def _scrub(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        # NUL cannot be stored in PostgreSQL text or jsonb.
        return redact(value, secrets).replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, secrets) for item in value]
    return value


@dataclass
class Emitter:
    """Delivers events to the engine's callback, in order, without secrets."""

    callback: EmitCallback | None
    secrets: tuple[str, ...] = ()
    step: int = 0
    seq: int = 0
    history: list[AgentEvent] | None = field(default=None)

    async def __call__(self, kind: EventKind, **payload: Any) -> AgentEvent:
        self.seq += 1
        body = _scrub({"step": self.step, **payload}, self.secrets)
        event = AgentEvent(kind=kind, payload=body, seq=self.seq)
        if self.history is not None:
            self.history.append(event)
        if self.callback is None:
            return event
        result = self.callback(event)
        if inspect.isawaitable(result):
            await result
        return event


def display_output(text: str, limit: int = DISPLAY_OUTPUT_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - limit} characters not shown ...]\n{text[-half:]}"
