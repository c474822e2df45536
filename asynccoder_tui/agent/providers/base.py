"""The provider contract: tool specs, stream limits, normalised stream events, usage.

Every provider turns (system prompt, neutral messages, tool specs, limits) into one streamed
assistant turn, reported as a sequence of `ProviderEvent`s that ends with exactly one `TurnDone`
or an exception (a `ProviderError` from `domain.errors` for API failures). Providers never retry:
the loop owns retries, so SDK clients are built with `max_retries=0`.

This module imports only the standard library, pydantic and our domain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from asynccoder_tui.agent.providers.messages import Message, ToolCall
from asynccoder_tui.domain.enums import ProviderKind


class StopReason(StrEnum):
    """Why a turn ended, normalised across providers."""

    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    PAUSE_TURN = "pause_turn"
    REFUSAL = "refusal"
    CONTEXT_EXCEEDED = "context_exceeded"
    STOP_SEQUENCE = "stop_sequence"
    OTHER = "other"


class Usage(BaseModel):
    """Tokens one call (or a sum of calls) consumed, split the way they are billed.

    `input_tokens` are the uncached input tokens billed at the input rate; cache reads and
    writes are counted apart (OpenAI's `input_tokens` includes its cached tokens: providers
    subtract them so every field here is disjoint).
    """

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False
    """True when some figure is our estimate rather than the provider's report."""

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            estimated=self.estimated or other.estimated,
        )

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ToolSpec(BaseModel):
    """A tool as both providers describe it: a name, a description, a JSON schema."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class StreamLimits:
    """Per-call limits the loop hands to a provider."""

    max_output_tokens: int
    request_timeout: float = 120.0
    """Seconds to wait for the connection and between stream chunks."""
    cache_key: str | None = None
    """A stable key per task, for providers that route prompt caching by key (OpenAI)."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallStarted:
    index: int
    id: str
    name: str


@dataclass(frozen=True)
class ToolArgumentsDelta:
    index: int
    id: str
    delta: str


@dataclass(frozen=True)
class ToolCallReady:
    call: ToolCall


@dataclass(frozen=True)
class UsageUpdate:
    """Usage known so far in the current turn (providers report input usage early).

    If the stream then fails, the loop bills the last update: a failed turn still costs.
    """

    usage: Usage


@dataclass(frozen=True)
class TurnDone:
    stop_reason: StopReason
    usage: Usage
    raw_stop_reason: str | None = None


ProviderEvent = (
    TextDelta | ToolCallStarted | ToolArgumentsDelta | ToolCallReady | UsageUpdate | TurnDone
)


@runtime_checkable
class Provider(Protocol):
    """Streams one assistant turn. Implementations must not retry and must not log secrets."""

    @property
    def kind(self) -> ProviderKind: ...

    @property
    def model_name(self) -> str: ...

    @property
    def supports_prompt_cache(self) -> bool:
        """True when repeated prefixes are billed at the cache-read rate."""
        ...

    def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]: ...

    async def aclose(self) -> None: ...


def parse_tool_arguments(call_id: str, name: str, raw: str) -> ToolCall:
    """Build a `ToolCall` from the JSON text a model streamed; bad JSON is kept, not raised."""
    import json

    text = raw.strip() or "{}"
    try:
        value = json.loads(text)
    except ValueError as err:
        return ToolCall(
            id=call_id,
            name=name,
            arguments_error=f"arguments are not valid JSON ({err})",
            raw_arguments=raw,
        )
    if not isinstance(value, dict):
        return ToolCall(
            id=call_id,
            name=name,
            arguments_error="arguments must be a JSON object",
            raw_arguments=raw,
        )
    return ToolCall(id=call_id, name=name, arguments=value)
