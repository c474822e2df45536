"""One model call: consume a provider's stream into a turn, metering what it costs.

`stream_turn` forwards text deltas to the emitter as they arrive and collects tool calls; the
`PartialTurn` it fills stays readable if the call fails or is cancelled midway, so the loop can
bill a failed call and keep the text of an interrupted one. `Meter` keeps the running usage and
cost of a run and emits one `usage` event per call, failed calls included.

Usage a server reports is checked before it is billed: a negative count (a broken proxy) counts
as zero, and a count no real call can reach (`MAX_TOKENS_PER_CALL`) fails the call instead of
billing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from asynccoder_tui.agent.events import Emitter
from asynccoder_tui.agent.providers.base import (
    Provider,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolCallReady,
    ToolSpec,
    TurnDone,
    Usage,
    UsageUpdate,
)
from asynccoder_tui.agent.providers.messages import Message, ToolCall
from asynccoder_tui.agent.tokens import cost_of, count_tokens, format_cost
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.errors import ProviderError
from asynccoder_tui.domain.models import AIModel

MAX_TOKENS_PER_CALL = 100_000_000
"""Far above any model's context window plus output; a report past it is not believed."""


def checked_usage(usage: Usage, provider: object) -> Usage:
    """`usage` with negative counts as zero; `ProviderError` for counts past any real call."""
    fields = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    values = {name: getattr(usage, name) for name in fields}
    worst = max(values.values())
    if worst > MAX_TOKENS_PER_CALL:
        raise ProviderError(
            f"{provider} API reported an impossible usage ({worst:,} tokens for one call); "
            "the call is not billed",
            hint="check the model's base URL: something other than the provider may answer",
        )
    if min(values.values()) < 0:
        return usage.model_copy(update={k: max(0, v) for k, v in values.items()})
    return usage


@dataclass
class PartialTurn:
    """What one attempt has produced so far."""

    text_parts: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    usage: Usage | None = None
    events: int = 0

    @property
    def text(self) -> str:
        return "".join(self.text_parts)


@dataclass(frozen=True)
class TurnResult:
    text: str
    calls: list[ToolCall]
    stop_reason: StopReason
    raw_stop_reason: str | None
    usage: Usage


async def stream_turn(
    provider: Provider,
    system: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    limits: StreamLimits,
    *,
    emit: Emitter,
    partial: PartialTurn,
) -> TurnResult:
    """Stream one turn; raises `ProviderError` when the call fails."""
    async for event in provider.stream(system, messages, tools, limits):
        partial.events += 1
        if isinstance(event, TextDelta):
            if event.text:
                partial.text_parts.append(event.text)
                await emit(EventKind.TEXT_DELTA, text=event.text)
        elif isinstance(event, ToolCallReady):
            partial.calls.append(event.call)
        elif isinstance(event, UsageUpdate):
            partial.usage = checked_usage(event.usage, provider.kind)
        elif isinstance(event, TurnDone):
            return TurnResult(
                text=partial.text,
                calls=list(partial.calls),
                stop_reason=event.stop_reason,
                raw_stop_reason=event.raw_stop_reason,
                usage=checked_usage(event.usage, provider.kind),
            )
    raise ProviderError(f"{provider.kind} stream ended without finishing the turn", retryable=True)


@dataclass
class Meter:
    """Running usage and cost of a run."""

    model: AIModel
    emit: Emitter
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    calls: int = 0

    def estimate(self, input_tokens: int, partial: PartialTurn) -> Usage:
        """Usage for a call the provider did not report: our input estimate and the output seen."""
        output = count_tokens(partial.text, self.model.name).tokens
        output += sum(
            count_tokens(c.arguments_json(), self.model.name).tokens for c in partial.calls
        )
        return Usage(input_tokens=input_tokens, output_tokens=output, estimated=True)

    async def bill(self, usage: Usage, *, failed: bool = False) -> Decimal:
        cost = cost_of(usage, self.model)
        self.usage = self.usage + usage
        self.cost += cost
        self.calls += 1
        await self.emit(
            EventKind.USAGE,
            **usage.as_dict(),
            cost=format_cost(cost),
            failed=failed,
            total_usage=self.usage.as_dict(),
            total_cost=format_cost(self.cost),
        )
        return cost

    def _failed_usage(self, partial: PartialTurn, input_estimate: int) -> Usage | None:
        if partial.usage is not None:
            usage = partial.usage
            seen = self.estimate(0, partial).output_tokens
            if seen > usage.output_tokens:
                usage = usage.model_copy(update={"output_tokens": seen, "estimated": True})
        elif partial.events:
            usage = self.estimate(input_estimate, partial)
        else:
            return None  # refused before any answer: providers do not charge for it
        return usage

    async def bill_failed(self, partial: PartialTurn, input_estimate: int) -> None:
        """Bill a call that failed after the provider started answering (it was charged)."""
        usage = self._failed_usage(partial, input_estimate)
        if usage is not None:
            await self.bill(usage, failed=True)

    def record_failed(self, partial: PartialTurn, input_estimate: int) -> None:
        """Like `bill_failed` without an event: for a task being cancelled."""
        usage = self._failed_usage(partial, input_estimate)
        if usage is not None:
            self.usage = self.usage + usage
            self.cost += cost_of(usage, self.model)
            self.calls += 1
