"""The OpenAI providers (Responses API, Chat Completions) against a local wire-format server."""

from __future__ import annotations

import json

import pytest

from asynccoder_tui.agent.providers import make_provider
from asynccoder_tui.agent.providers.base import (
    ProviderEvent,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolCallReady,
    TurnDone,
    Usage,
)
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
)
from asynccoder_tui.agent.providers.openai import OpenAIChatProvider, OpenAIResponsesProvider
from asynccoder_tui.agent.tools import tool_specs
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ProviderError
from tests.agent.conftest import make_model
from tests.agent.wire import (
    Reply,
    WireServer,
    chat_stream,
    fragments,
    openai_error,
    responses_stream,
)

KEY = "sk-proj-testkey0123456789abcdefghij"
LIMITS = StreamLimits(max_output_tokens=2048, request_timeout=5.0, cache_key="task-42")
TOOLS = tool_specs(["view", "run", "finish"])
HISTORY: list[Message] = [
    UserMessage(text="run the tests"),
    AssistantMessage(
        text="Running them.",
        tool_calls=(ToolCall(id="call_1", name="run", arguments={"command": "pytest -q"}),),
    ),
    ToolResultsMessage(results=(ToolResult(call_id="call_1", name="run", content="exit code 0"),)),
]


def responses(wire: WireServer) -> OpenAIResponsesProvider:
    return OpenAIResponsesProvider("gpt-test", api_key=KEY, base_url=f"{wire.url}/v1")


def chat(wire: WireServer) -> OpenAIChatProvider:
    return OpenAIChatProvider(
        "qwen-local", api_key=None, base_url=f"{wire.url}/v1", kind=ProviderKind.OPENAI_COMPATIBLE
    )


async def collect(
    p: OpenAIResponsesProvider | OpenAIChatProvider, messages: list[Message] | None = None
) -> list[ProviderEvent]:
    events = [e async for e in p.stream("Be brief.", messages or HISTORY, TOOLS, LIMITS)]
    await p.aclose()
    return events


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls_of(events: list[ProviderEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallReady)]


def done(events: list[ProviderEvent]) -> TurnDone:
    assert isinstance(events[-1], TurnDone)
    return events[-1]


# -- Responses API --------------------------------------------------------------------------


async def test_responses_text_and_request_shape(wire: WireServer) -> None:
    wire.queue(
        Reply(
            events=responses_stream(
                text=["All ", "green."], input_tokens=1000, cached_tokens=800, output_tokens=5
            )
        )
    )
    events = await collect(responses(wire))
    assert text_of(events) == "All green."
    turn = done(events)
    assert turn.stop_reason is StopReason.END_TURN
    # OpenAI counts cached tokens inside input_tokens; ours are disjoint.
    assert turn.usage == Usage(input_tokens=200, cache_read_tokens=800, output_tokens=5)
    (request,) = wire.requests
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.body
    assert body["instructions"] == "Be brief."
    assert body["store"] is False and body["stream"] is True
    assert body["max_output_tokens"] == 2048
    assert body["prompt_cache_key"] == "task-42"
    assert body["tools"][1] == {
        "type": "function",
        "name": "run",
        "description": TOOLS[1].description,
        "parameters": TOOLS[1].parameters,
        "strict": False,
    }
    assert body["input"] == [
        {"type": "message", "role": "user", "content": "run the tests"},
        {"type": "message", "role": "assistant", "content": "Running them."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "run",
            "arguments": '{"command": "pytest -q"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "exit code 0"},
    ]


async def test_responses_fragmented_and_several_function_calls(wire: WireServer) -> None:
    first = {"path": "src/app.py", "start_line": 10}
    second = {"command": "grep -rn 'TODO' . | head -5"}
    wire.queue(
        Reply(
            events=responses_stream(
                text=["Two calls."],
                tools=[
                    ("call_a", "view", fragments(first, 2)),
                    ("call_b", "run", fragments(second, 1)),
                ],
            )
        )
    )
    events = await collect(responses(wire))
    assert [(c.id, c.name, c.arguments) for c in calls_of(events)] == [
        ("call_a", "view", first),
        ("call_b", "run", second),
    ]
    assert done(events).stop_reason is StopReason.TOOL_USE


async def test_responses_incomplete_at_max_output_tokens(wire: WireServer) -> None:
    wire.queue(
        Reply(
            events=responses_stream(
                tools=[("call_x", "run", fragments({"command": "echo " + "y" * 40})[:4])],
                incomplete="max_output_tokens",
            )
        )
    )
    events = await collect(responses(wire))
    assert done(events).stop_reason is StopReason.MAX_TOKENS
    (call,) = calls_of(events)
    assert call.arguments_error is not None


async def test_responses_429_with_retry_after(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=429,
            headers={"retry-after-ms": "1500"},
            body=openai_error("Rate limit reached for gpt-test", "rate_limit_exceeded", "requests"),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(responses(wire))
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.retry_after == 1.5
    assert len(wire.requests) == 1
    assert KEY not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 529])
async def test_responses_server_errors_are_retryable(wire: WireServer, status: int) -> None:
    wire.queue(
        Reply(
            status=status,
            body=openai_error("The server had an error", "server_error", "server_error"),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(responses(wire))
    assert caught.value.retryable and caught.value.status == status
    assert len(wire.requests) == 1


async def test_responses_context_length_error(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=400,
            body=openai_error(
                "Your input exceeds the context window of this model.", "context_length_exceeded"
            ),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(responses(wire))
    assert caught.value.context_exceeded and not caught.value.retryable


async def test_responses_failed_event_with_server_error_is_retryable(wire: WireServer) -> None:
    events = responses_stream(text=["x"])[:3]
    failed = {
        "type": "response.failed",
        "sequence_number": 3,
        "response": {
            "id": "resp_1",
            "object": "response",
            "created_at": 1,
            "status": "failed",
            "error": {"code": "server_error", "message": "The model had an error"},
            "output": [],
            "model": "gpt-test",
        },
    }
    events.append(("response.failed", json.dumps(failed)))
    wire.queue(Reply(events=events))
    with pytest.raises(ProviderError) as caught:
        await collect(responses(wire))
    assert caught.value.retryable


async def test_responses_cut_stream_and_malformed_json(wire: WireServer) -> None:
    wire.queue(Reply(events=responses_stream(text=["a", "b", "c"]), cut_after=6))
    with pytest.raises(ProviderError) as cut:
        await collect(responses(wire))
    assert cut.value.retryable
    broken = responses_stream(text=["a"])
    broken.insert(
        2, ("response.output_item.added", '{"type": "response.output_item.added", "item": {')
    )
    wire.queue(Reply(events=broken))
    with pytest.raises(ProviderError) as malformed:
        await collect(responses(wire))
    assert malformed.value.retryable


# -- Chat Completions (OpenAI-compatible endpoints) ------------------------------------------


async def test_chat_text_fragmented_tool_calls_and_cached_usage(wire: WireServer) -> None:
    first = {"path": "README.md"}
    second = {"summary": "Answered: the tests pass."}
    wire.queue(
        Reply(
            events=chat_stream(
                text=["Let me ", "look."],
                tools=[
                    ("call_0", "view", fragments(first, 1)),
                    ("call_1", "finish", fragments(second, 4)),
                ],
                prompt_tokens=500,
                cached_tokens=300,
                completion_tokens=40,
            )
        )
    )
    events = await collect(chat(wire))
    assert text_of(events) == "Let me look."
    assert [(c.id, c.arguments) for c in calls_of(events)] == [
        ("call_0", first),
        ("call_1", second),
    ]
    turn = done(events)
    assert turn.stop_reason is StopReason.TOOL_USE
    assert turn.usage == Usage(input_tokens=200, cache_read_tokens=300, output_tokens=40)
    (request,) = wire.requests
    assert request.path == "/v1/chat/completions"
    body = request.body
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 2048
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "run the tests"},
        {
            "role": "assistant",
            "content": "Running them.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "run", "arguments": '{"command": "pytest -q"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "exit code 0"},
    ]
    assert body["tools"][0]["function"]["name"] == "view"


async def test_chat_length_finish_is_max_tokens(wire: WireServer) -> None:
    wire.queue(Reply(events=chat_stream(text=["trunc"], finish_reason="length")))
    assert done(await collect(chat(wire))).stop_reason is StopReason.MAX_TOKENS


async def test_chat_without_usage_reports_an_estimated_empty_usage(wire: WireServer) -> None:
    wire.queue(Reply(events=chat_stream(text=["hi"], usage=False)))
    turn = done(await collect(chat(wire)))
    assert turn.usage.estimated and turn.usage.total_input_tokens == 0


async def test_chat_errors_cut_and_malformed(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=429,
            headers={"retry-after": "2"},
            body=openai_error("slow down", "rate_limit_exceeded"),
        )
    )
    with pytest.raises(ProviderError) as limited:
        await collect(chat(wire))
    assert limited.value.retryable and limited.value.retry_after == 2.0
    wire.queue(Reply(events=chat_stream(text=["a", "b"]), cut_after=2))
    with pytest.raises(ProviderError) as cut:
        await collect(chat(wire))
    assert cut.value.retryable
    broken = chat_stream(text=["a"])
    broken.insert(1, (None, '{"id": "x", "choices": [{"delta": '))
    wire.queue(Reply(events=broken))
    with pytest.raises(ProviderError) as malformed:
        await collect(chat(wire))
    assert malformed.value.retryable
    wire.queue(
        Reply(status=404, body=openai_error("model 'qwen-local' not found", "model_not_found"))
    )
    with pytest.raises(ProviderError) as missing:
        await collect(chat(wire))
    assert not missing.value.retryable and missing.value.status == 404


async def test_compatible_endpoint_is_configuration_only(wire: WireServer) -> None:
    """An Ollama-style model needs only a base URL; no OpenAI key is sent to it."""
    model = make_model("llama3.1", ProviderKind.OPENAI_COMPATIBLE, base_url=f"{wire.url}/v1")
    provider = make_provider(model, openai_api_key=KEY)
    assert isinstance(provider, OpenAIChatProvider)
    wire.queue(Reply(events=chat_stream(text=["hello"])))
    assert text_of(await collect(provider)) == "hello"
    auth = wire.requests[0].headers.get("authorization", "")
    assert KEY not in auth
    assert wire.requests[0].body["model"] == "llama3.1"


async def test_openai_models_on_chat_completions_send_max_completion_tokens(
    wire: WireServer,
) -> None:
    provider = OpenAIChatProvider(
        "gpt-x", api_key=KEY, base_url=f"{wire.url}/v1", kind=ProviderKind.OPENAI
    )
    wire.queue(Reply(events=chat_stream(text=["ok"])))
    await collect(provider)
    body = wire.requests[0].body
    assert body["max_completion_tokens"] == 2048 and "max_tokens" not in body
