"""Anthropic Messages API: rendering the neutral conversation, streaming, prompt caching.

Caching: the system prompt carries a cache breakpoint, which caches the stable prefix (tool
schemas, then the system prompt). The conversation carries a moving breakpoint on its last
block, plus one on the last block of the previous user turn (where the previous call put its
moving breakpoint), so each call reads everything the previous call wrote and writes only what
is new. Three breakpoints of the four the API allows.

The `anthropic` SDK is imported when the first call is made, not when this module is imported.
The client is built with `max_retries=0`: the loop owns retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from asynccoder_tui.agent.providers.base import (
    ProviderEvent,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolSpec,
    TurnDone,
    Usage,
    UsageUpdate,
    parse_tool_arguments,
)
from asynccoder_tui.agent.providers.errors import map_sdk_exception, provider_error_from_status
from asynccoder_tui.agent.providers.messages import (
    Message,
    ToolResultsMessage,
    UserMessage,
)
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ProviderError

EPHEMERAL = {"type": "ephemeral"}

STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "stop_sequence": StopReason.STOP_SEQUENCE,
    "pause_turn": StopReason.PAUSE_TURN,
    "refusal": StopReason.REFUSAL,
    "model_context_window_exceeded": StopReason.CONTEXT_EXCEEDED,
}


def _blocks(message: Message) -> tuple[str, list[dict[str, Any]]]:
    if isinstance(message, UserMessage):
        return "user", [{"type": "text", "text": message.text or "(empty message)"}]
    if isinstance(message, ToolResultsMessage):
        return "user", [
            {
                "type": "tool_result",
                "tool_use_id": result.call_id,
                "content": result.content or "(no output)",
                **({"is_error": True} if result.is_error else {}),
            }
            for result in message.results
        ]
    blocks: list[dict[str, Any]] = []
    if message.text.strip():
        blocks.append({"type": "text", "text": message.text})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
        )
    if not blocks:
        blocks.append({"type": "text", "text": "(no response)"})
    return "assistant", blocks


def render_messages(messages: Sequence[Message], *, cache: bool = True) -> list[dict[str, Any]]:
    """The Messages API `messages` list: consecutive same-role turns merged, breakpoints set."""
    rendered: list[dict[str, Any]] = []
    for message in messages:
        role, blocks = _blocks(message)
        if rendered and rendered[-1]["role"] == role:
            rendered[-1]["content"].extend(blocks)
        else:
            rendered.append({"role": role, "content": blocks})
    if cache and rendered:
        _mark(rendered[-1])
        for earlier in reversed(rendered[:-1]):
            if earlier["role"] == "user":
                _mark(earlier)
                break
    return rendered


def _mark(message: dict[str, Any]) -> None:
    last = dict(message["content"][-1])
    last["cache_control"] = EPHEMERAL
    message["content"][-1] = last


def render_request(
    system: str, messages: Sequence[Message], tools: Sequence[ToolSpec], *, cache: bool = True
) -> dict[str, Any]:
    """`system`, `messages` and `tools` arguments of `messages.create`."""
    system_block: dict[str, Any] = {"type": "text", "text": system}
    if cache:
        system_block["cache_control"] = EPHEMERAL
    return {
        "system": [system_block],
        "messages": render_messages(messages, cache=cache),
        "tools": [
            {"name": t.name, "description": t.description, "input_schema": t.parameters}
            for t in tools
        ],
    }


def _usage(raw: Any, previous: Usage | None = None) -> Usage:
    base = previous or Usage()

    def pick(name: str, fallback: int) -> int:
        value = getattr(raw, name, None)
        return int(value) if isinstance(value, int) else fallback

    return Usage(
        input_tokens=pick("input_tokens", base.input_tokens),
        output_tokens=pick("output_tokens", base.output_tokens),
        cache_read_tokens=pick("cache_read_input_tokens", base.cache_read_tokens),
        cache_write_tokens=pick("cache_creation_input_tokens", base.cache_write_tokens),
    )


class AnthropicProvider:
    """Claude models through the official SDK's async streaming Messages API."""

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str,
        base_url: str | None = None,
        prompt_cache: bool = True,
        client: Any = None,
    ) -> None:
        self._model_name = model_name
        self._api_key = api_key
        self._base_url = base_url
        self.prompt_cache = prompt_cache
        self._client = client

    @property
    def kind(self) -> ProviderKind:
        return ProviderKind.ANTHROPIC

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def supports_prompt_cache(self) -> bool:
        return self.prompt_cache

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings the loop must scrub from events (the API key)."""
        return (self._api_key,)

    def _sdk_client(self, timeout: float) -> Any:
        if self._client is None:
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._api_key,
                base_url=self._base_url,
                max_retries=0,
                timeout=timeout,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]:
        request = render_request(system, messages, tools, cache=self.prompt_cache)
        secrets = (self._api_key,)
        try:
            client = self._sdk_client(limits.request_timeout)
            response = await client.messages.create(
                model=self._model_name,
                max_tokens=limits.max_output_tokens,
                stream=True,
                timeout=limits.request_timeout,
                **request,
                **limits.extra,
            )
            async for event in self._events(response):
                yield event
        except ProviderError:
            raise
        except Exception as err:
            raise map_sdk_exception("Anthropic", err, secrets=secrets) from err

    async def _events(self, response: Any) -> AsyncIterator[ProviderEvent]:
        usage = Usage()
        stop: str | None = None
        finished = False
        tools: dict[int, list[str]] = {}  # block index -> [id, name, json so far]
        async with response:
            async for event in response:
                kind = getattr(event, "type", None)
                if kind == "message_start":
                    usage = _usage(event.message.usage)
                    yield UsageUpdate(usage)
                elif kind == "content_block_start":
                    block = event.content_block
                    if block.type == "tool_use":
                        tools[event.index] = [block.id, block.name, ""]
                        yield ToolCallStarted(event.index, block.id, block.name)
                    elif block.type == "text" and getattr(block, "text", ""):
                        yield TextDelta(block.text)
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        yield TextDelta(delta.text)
                    elif delta.type == "input_json_delta" and event.index in tools:
                        entry = tools[event.index]
                        entry[2] += delta.partial_json
                        yield ToolArgumentsDelta(event.index, entry[0], delta.partial_json)
                elif kind == "content_block_stop" and event.index in tools:
                    call_id, name, raw = tools.pop(event.index)
                    yield ToolCallReady(parse_tool_arguments(call_id, name, raw))
                elif kind == "message_delta":
                    stop = getattr(event.delta, "stop_reason", None) or stop
                    usage = _usage(event.usage, usage)
                    yield UsageUpdate(usage)
                elif kind == "message_stop":
                    finished = True
                elif kind == "error":  # pragma: no cover - the SDK raises on error events
                    raise provider_error_from_status("Anthropic", None, body=event.model_dump())
        if not finished:
            raise ProviderError(
                "Anthropic API stream ended before the turn was complete", retryable=True
            )
        for _, (call_id, name, raw) in sorted(tools.items()):
            # A block that never got its stop event (cut by max_tokens): report what we have.
            yield ToolCallReady(parse_tool_arguments(call_id, name, raw))
        yield TurnDone(STOP_REASONS.get(stop or "", StopReason.OTHER), usage, raw_stop_reason=stop)
