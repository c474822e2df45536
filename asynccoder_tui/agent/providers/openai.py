"""OpenAI: the Responses API for OpenAI's own models, Chat Completions for compatible endpoints.

`OpenAIResponsesProvider` streams `POST /responses` with function tools, `store=false` (the
conversation is ours, sent whole each call) and a `prompt_cache_key` per task so OpenAI's
automatic prefix caching keeps hitting. `OpenAIChatProvider` streams `POST /chat/completions`,
the dialect that Ollama, vLLM, LM Studio and Gemini's compatible endpoint speak: those are
configured by base URL and model name only. Usage is normalised so cached input tokens are
counted apart from the uncached ones (OpenAI includes them in its input count).

The `openai` SDK is imported on the first call. Clients use `max_retries=0`: the loop retries.
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
    AssistantMessage,
    Message,
    ToolResultsMessage,
    UserMessage,
)
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ProviderError

NO_KEY = "not-needed"
"""Sent as the API key to local endpoints that need none (the SDK insists on one)."""


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) else 0


def normalise_usage(
    input_tokens: Any, output_tokens: Any, details: Any, *, estimated: bool = False
) -> Usage:
    """OpenAI usage (cached tokens included in input) as disjoint `Usage` fields."""
    cached = _int(_get(details, "cached_tokens"))
    written = _int(_get(details, "cache_write_tokens"))
    total = _int(input_tokens)
    return Usage(
        input_tokens=max(0, total - cached - written),
        output_tokens=_int(output_tokens),
        cache_read_tokens=cached,
        cache_write_tokens=written,
        estimated=estimated,
    )


class _OpenAIBase:
    provider_label = "OpenAI"

    def __init__(
        self,
        model_name: str,
        *,
        api_key: str | None,
        base_url: str | None = None,
        kind: ProviderKind = ProviderKind.OPENAI,
        client: Any = None,
    ) -> None:
        self._model_name = model_name
        self._api_key = api_key or NO_KEY
        self._base_url = base_url
        self._kind = kind
        self._client = client

    @property
    def kind(self) -> ProviderKind:
        return self._kind

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def supports_prompt_cache(self) -> bool:
        return self._kind is ProviderKind.OPENAI

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings the loop must scrub from events (the API key)."""
        return (self._api_key,)

    def _sdk_client(self, timeout: float) -> Any:
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self._api_key, base_url=self._base_url, max_retries=0, timeout=timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _map(self, err: Exception) -> ProviderError:
        return map_sdk_exception(self.provider_label, err, secrets=(self._api_key,))


def render_responses_input(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The Responses API `input` items for the conversation."""
    items: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, UserMessage):
            items.append({"type": "message", "role": "user", "content": message.text or "(empty)"})
        elif isinstance(message, AssistantMessage):
            if message.text.strip() or not message.tool_calls:
                text = message.text if message.text.strip() else "(no response)"
                items.append({"type": "message", "role": "assistant", "content": text})
            for call in message.tool_calls:
                items.append(
                    {
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.arguments_json(),
                    }
                )
        else:
            for result in message.results:
                items.append(
                    {
                        "type": "function_call_output",
                        "call_id": result.call_id,
                        "output": result.content or "(no output)",
                    }
                )
    return items


def render_responses_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "strict": False,
        }
        for t in tools
    ]


class OpenAIResponsesProvider(_OpenAIBase):
    """OpenAI models through the Responses API."""

    async def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]:
        params: dict[str, Any] = {
            "model": self._model_name,
            "instructions": system,
            "input": render_responses_input(messages),
            "tools": render_responses_tools(tools),
            "max_output_tokens": limits.max_output_tokens,
            "store": False,
            "stream": True,
            "timeout": limits.request_timeout,
        }
        if limits.cache_key:
            params["prompt_cache_key"] = limits.cache_key
        params.update(limits.extra)
        try:
            client = self._sdk_client(limits.request_timeout)
            response = await client.responses.create(**params)
            async for event in self._events(response):
                yield event
        except ProviderError:
            raise
        except Exception as err:
            raise self._map(err) from err

    async def _events(self, response: Any) -> AsyncIterator[ProviderEvent]:
        calls: dict[str, list[Any]] = {}  # item id -> [output index, call id, name, json]
        ready: set[str] = set()
        async with response:
            async for event in response:
                kind = _get(event, "type")
                if kind == "response.output_text.delta":
                    yield TextDelta(event.delta)
                elif kind == "response.refusal.delta":
                    yield TextDelta(event.delta)
                elif kind == "response.output_item.added":
                    item = event.item
                    if _get(item, "type") == "function_call":
                        entry = [event.output_index, item.call_id, item.name, ""]
                        calls[item.id] = entry
                        yield ToolCallStarted(event.output_index, item.call_id, item.name)
                elif kind == "response.function_call_arguments.delta":
                    found = calls.get(event.item_id)
                    if found is not None:
                        found[3] += event.delta
                        yield ToolArgumentsDelta(found[0], found[1], event.delta)
                elif kind == "response.output_item.done":
                    item = event.item
                    if _get(item, "type") == "function_call":
                        entry = calls.setdefault(
                            item.id, [event.output_index, item.call_id, item.name, ""]
                        )
                        raw = _get(item, "arguments") or entry[3]
                        ready.add(item.id)
                        yield ToolCallReady(parse_tool_arguments(entry[1], entry[2], raw))
                elif kind in ("response.completed", "response.incomplete"):
                    done = event.response
                    raw_usage = _get(done, "usage")
                    usage = normalise_usage(
                        _get(raw_usage, "input_tokens"),
                        _get(raw_usage, "output_tokens"),
                        _get(raw_usage, "input_tokens_details"),
                    )
                    yield UsageUpdate(usage)
                    for item_id, entry in calls.items():
                        if item_id not in ready:
                            yield ToolCallReady(parse_tool_arguments(entry[1], entry[2], entry[3]))
                    stop = self._stop_reason(kind, done, bool(calls))
                    yield TurnDone(stop, usage, raw_stop_reason=_stop_detail(kind, done))
                    return
                elif kind == "response.failed":
                    error = _get(event.response, "error")
                    raise provider_error_from_status(
                        self.provider_label,
                        None,
                        body={
                            "error": {
                                "code": _get(error, "code"),
                                "message": _get(error, "message"),
                            }
                        },
                        secrets=(self._api_key,),
                    )
                elif kind == "error":
                    raise provider_error_from_status(
                        self.provider_label,
                        None,
                        body={
                            "error": {
                                "code": _get(event, "code"),
                                "message": _get(event, "message"),
                            }
                        },
                        secrets=(self._api_key,),
                    )
        raise ProviderError("OpenAI API stream ended before the response completed", retryable=True)

    @staticmethod
    def _stop_reason(kind: str, response: Any, has_calls: bool) -> StopReason:
        if kind == "response.incomplete":
            reason = _get(_get(response, "incomplete_details"), "reason")
            if reason == "max_output_tokens":
                return StopReason.MAX_TOKENS
            if reason == "content_filter":
                return StopReason.REFUSAL
            return StopReason.OTHER
        return StopReason.TOOL_USE if has_calls else StopReason.END_TURN


def _stop_detail(kind: str, response: Any) -> str:
    if kind == "response.incomplete":
        reason = _get(_get(response, "incomplete_details"), "reason")
        return f"incomplete:{reason}"
    return str(_get(response, "status") or "completed")


def render_chat_messages(system: str, messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Chat Completions `messages` for the conversation, system prompt first."""
    rendered: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for message in messages:
        if isinstance(message, UserMessage):
            rendered.append({"role": "user", "content": message.text or "(empty)"})
        elif isinstance(message, AssistantMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments_json()},
                    }
                    for call in message.tool_calls
                ]
            elif not message.text:
                entry["content"] = "(no response)"
            rendered.append(entry)
        elif isinstance(message, ToolResultsMessage):
            for result in message.results:
                rendered.append(
                    {
                        "role": "tool",
                        "tool_call_id": result.call_id,
                        "content": result.content or "(no output)",
                    }
                )
    return rendered


CHAT_FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "length": StopReason.MAX_TOKENS,
    "content_filter": StopReason.REFUSAL,
}


class OpenAIChatProvider(_OpenAIBase):
    """Any Chat Completions endpoint (OpenAI-compatible servers), by base URL and model name."""

    provider_label = "OpenAI-compatible"

    def _max_tokens_field(self) -> str:
        return "max_completion_tokens" if self._kind is ProviderKind.OPENAI else "max_tokens"

    async def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]:
        params: dict[str, Any] = {
            "model": self._model_name,
            "messages": render_chat_messages(system, messages),
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ],
            # OpenAI's own models take max_completion_tokens (reasoning models refuse
            # max_tokens); compatible servers know max_tokens.
            self._max_tokens_field(): limits.max_output_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": limits.request_timeout,
        }
        params.update(limits.extra)
        try:
            client = self._sdk_client(limits.request_timeout)
            response = await client.chat.completions.create(**params)
            async for event in self._events(response):
                yield event
        except ProviderError:
            raise
        except Exception as err:
            raise self._map(err) from err

    async def _events(self, response: Any) -> AsyncIterator[ProviderEvent]:
        calls: dict[int, list[str]] = {}  # index -> [id, name, json]
        finish: str | None = None
        usage: Usage | None = None
        async with response:
            async for chunk in response:
                raw_usage = _get(chunk, "usage")
                if raw_usage is not None:
                    usage = normalise_usage(
                        _get(raw_usage, "prompt_tokens"),
                        _get(raw_usage, "completion_tokens"),
                        _get(raw_usage, "prompt_tokens_details"),
                    )
                    yield UsageUpdate(usage)
                for choice in _get(chunk, "choices") or []:
                    delta = _get(choice, "delta")
                    text = _get(delta, "content")
                    if text:
                        yield TextDelta(text)
                    for fragment in _get(delta, "tool_calls") or []:
                        index = _int(_get(fragment, "index"))
                        function = _get(fragment, "function")
                        if index not in calls:
                            call_id = _get(fragment, "id") or f"call_{index}"
                            name = _get(function, "name") or ""
                            calls[index] = [call_id, name, ""]
                            yield ToolCallStarted(index, call_id, name)
                        entry = calls[index]
                        if not entry[1] and _get(function, "name"):
                            entry[1] = _get(function, "name")
                        piece = _get(function, "arguments") or ""
                        if piece:
                            entry[2] += piece
                            yield ToolArgumentsDelta(index, entry[0], piece)
                    finish = _get(choice, "finish_reason") or finish
        if finish is None:
            raise ProviderError(
                f"{self.provider_label} API stream ended before the turn was complete",
                retryable=True,
            )
        for index in sorted(calls):
            call_id, name, raw = calls[index]
            yield ToolCallReady(parse_tool_arguments(call_id, name, raw))
        stop = CHAT_FINISH_REASONS.get(finish, StopReason.OTHER)
        if calls and stop is StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        if usage is None:
            usage = Usage(estimated=True)
        yield TurnDone(stop, usage, raw_stop_reason=finish)
