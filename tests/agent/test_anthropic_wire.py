"""The Anthropic provider against a local server speaking the Messages API wire format."""

from __future__ import annotations

import json

import pytest

from asynccoder_tui.agent.providers.anthropic import AnthropicProvider
from asynccoder_tui.agent.providers.base import (
    ProviderEvent,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolCallReady,
    ToolCallStarted,
    TurnDone,
    Usage,
    UsageUpdate,
)
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
)
from asynccoder_tui.agent.tools import tool_specs
from asynccoder_tui.domain.errors import ProviderError
from tests.agent.wire import Reply, WireServer, anthropic_error, anthropic_stream, fragments

KEY = "sk-ant-test-key-0123456789abcdef"
LIMITS = StreamLimits(max_output_tokens=1024, request_timeout=5.0)
TOOLS = tool_specs(["view", "edit", "finish"])


def provider(wire: WireServer) -> AnthropicProvider:
    return AnthropicProvider("claude-test", api_key=KEY, base_url=wire.url)


async def collect(
    p: AnthropicProvider, messages: list[Message] | None = None
) -> list[ProviderEvent]:
    events: list[ProviderEvent] = []
    async for event in p.stream(
        "You are a test.", messages or [UserMessage(text="hi")], TOOLS, LIMITS
    ):
        events.append(event)
    await p.aclose()
    return events


def text_of(events: list[ProviderEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def calls_of(events: list[ProviderEvent]) -> list[ToolCall]:
    return [e.call for e in events if isinstance(e, ToolCallReady)]


def done(events: list[ProviderEvent]) -> TurnDone:
    last = events[-1]
    assert isinstance(last, TurnDone)
    return last


async def test_streams_text_and_reports_usage_with_cache_tokens(wire: WireServer) -> None:
    wire.queue(
        Reply(
            events=anthropic_stream(
                text=["Hel", "lo", " there"],
                input_tokens=12,
                cache_read=3000,
                cache_write=450,
                output_tokens=7,
            )
        )
    )
    events = await collect(provider(wire))
    assert text_of(events) == "Hello there"
    turn = done(events)
    assert turn.stop_reason is StopReason.END_TURN
    assert turn.usage == Usage(
        input_tokens=12, output_tokens=7, cache_read_tokens=3000, cache_write_tokens=450
    )
    # Input usage arrives with message_start, before any text: a failed stream is still billable.
    assert isinstance(events[0], UsageUpdate) and events[0].usage.cache_read_tokens == 3000
    assert len(wire.requests) == 1
    request = wire.requests[0]
    assert request.path == "/v1/messages"
    assert KEY in " ".join(request.headers.values())
    assert request.body["stream"] is True
    assert request.body["max_tokens"] == 1024


async def test_request_caches_the_stable_prefix_and_moves_a_breakpoint(wire: WireServer) -> None:
    wire.queue(
        Reply(events=anthropic_stream(text=["ok"])), Reply(events=anthropic_stream(text=["ok"]))
    )
    first: list[Message] = [
        UserMessage(text="fix the bug"),
        AssistantMessage(
            text="looking", tool_calls=(ToolCall(id="t1", name="view", arguments={"path": "a.py"}),)
        ),
        ToolResultsMessage(
            results=(ToolResult(call_id="t1", name="view", content="a.py (lines 1-1 of 1)"),)
        ),
    ]
    second = [
        *first,
        AssistantMessage(
            text="", tool_calls=(ToolCall(id="t2", name="view", arguments={"path": "b.py"}),)
        ),
        ToolResultsMessage(
            results=(ToolResult(call_id="t2", name="view", content="b.py", is_error=True),)
        ),
    ]
    p = provider(wire)
    async for _ in p.stream("system prompt", first, TOOLS, LIMITS):
        pass
    async for _ in p.stream("system prompt", second, TOOLS, LIMITS):
        pass
    await p.aclose()
    one, two = (r.body for r in wire.requests)
    assert one["system"] == [
        {"type": "text", "text": "system prompt", "cache_control": {"type": "ephemeral"}}
    ]
    assert [t["name"] for t in two["tools"]] == ["view", "edit", "finish"]
    assert two["tools"][0]["input_schema"]["required"] == ["path"]

    def marked(body: dict) -> list[tuple[int, int]]:
        return [
            (i, j)
            for i, message in enumerate(body["messages"])
            for j, block in enumerate(message["content"])
            if "cache_control" in block
        ]

    # Each call marks its last block and the last block of the previous user turn (where the
    # call before it put its moving breakpoint), so it reads what that call wrote.
    assert marked(one) == [(0, 0), (2, 0)]
    assert marked(two) == [(2, 0), (4, 0)]
    assert one["messages"][2]["content"][0]["type"] == "tool_result"
    assert two["messages"][4]["content"][0]["is_error"] is True
    assert two["messages"][3]["content"] == [
        {"type": "tool_use", "id": "t2", "name": "view", "input": {"path": "b.py"}}
    ]

    # Content up to the old breakpoint is identical (markers aside): the cached prefix holds.
    def content(body: dict) -> str:
        return json.dumps(
            [
                [{k: v for k, v in block.items() if k != "cache_control"} for block in m["content"]]
                for m in body["messages"][:3]
            ]
        )

    assert content(one) == content(two)


async def test_tool_call_json_in_many_fragments(wire: WireServer) -> None:
    arguments = {"path": "src/app.py", "old_str": "a = 1\n\tb = 'x'", "new_str": "a = 2 # ünï"}
    wire.queue(
        Reply(
            events=anthropic_stream(
                text=["Editing."],
                tools=[("toolu_01", "edit", fragments(arguments, size=2))],
                stop_reason="tool_use",
            )
        )
    )
    events = await collect(provider(wire))
    assert [c.arguments for c in calls_of(events)] == [arguments]
    assert calls_of(events)[0].id == "toolu_01"
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    assert [(s.id, s.name) for s in started] == [("toolu_01", "edit")]
    assert done(events).stop_reason is StopReason.TOOL_USE


async def test_several_tool_calls_in_one_turn_keep_their_order(wire: WireServer) -> None:
    wire.queue(
        Reply(
            events=anthropic_stream(
                tools=[
                    ("toolu_a", "view", fragments({"path": "a.py"})),
                    ("toolu_b", "view", fragments({"path": "b.py"}, size=1)),
                    ("toolu_c", "finish", fragments({"summary": "done"})),
                ],
                stop_reason="tool_use",
            )
        )
    )
    events = await collect(provider(wire))
    assert [(c.id, c.name, c.arguments) for c in calls_of(events)] == [
        ("toolu_a", "view", {"path": "a.py"}),
        ("toolu_b", "view", {"path": "b.py"}),
        ("toolu_c", "finish", {"summary": "done"}),
    ]


async def test_max_tokens_cuts_a_tool_call_whose_json_is_then_incomplete(wire: WireServer) -> None:
    cut = fragments({"path": "big.py", "content": "x" * 50})[:5]
    wire.queue(
        Reply(events=anthropic_stream(tools=[("toolu_1", "create", cut)], stop_reason="max_tokens"))
    )
    events = await collect(provider(wire))
    turn = done(events)
    assert turn.stop_reason is StopReason.MAX_TOKENS
    (call,) = calls_of(events)
    assert call.arguments_error is not None and call.raw_arguments == "".join(cut)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pause_turn", StopReason.PAUSE_TURN),
        ("refusal", StopReason.REFUSAL),
        ("model_context_window_exceeded", StopReason.CONTEXT_EXCEEDED),
        ("stop_sequence", StopReason.STOP_SEQUENCE),
    ],
)
async def test_every_stop_reason_is_normalised(
    wire: WireServer, raw: str, expected: StopReason
) -> None:
    wire.queue(Reply(events=anthropic_stream(text=["x"], stop_reason=raw)))
    turn = done(await collect(provider(wire)))
    assert turn.stop_reason is expected and turn.raw_stop_reason == raw


async def test_429_carries_retry_after_and_is_not_retried_by_the_sdk(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=429,
            headers={"retry-after": "7"},
            body=anthropic_error(
                429, "rate_limit_error", "Number of requests has exceeded your rate limit"
            ),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    err = caught.value
    assert err.retryable and err.status == 429 and err.retry_after == 7.0
    assert len(wire.requests) == 1  # max_retries=0: the loop owns retries
    assert KEY not in str(err)


async def test_529_overloaded_is_retryable(wire: WireServer) -> None:
    wire.queue(Reply(status=529, body=anthropic_error(529, "overloaded_error", "Overloaded")))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.retryable and caught.value.status == 529


async def test_500_is_retryable(wire: WireServer) -> None:
    wire.queue(Reply(status=500, body=anthropic_error(500, "api_error", "Internal server error")))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.retryable and caught.value.status == 500
    assert len(wire.requests) == 1


async def test_a_stalled_stream_times_out_and_is_retryable(wire: WireServer) -> None:
    wire.queue(Reply(events=anthropic_stream(text=["slow"]), delay=1.0))
    p = AnthropicProvider("claude-test", api_key=KEY, base_url=wire.url)
    with pytest.raises(ProviderError) as caught:
        async for _ in p.stream(
            "s", [UserMessage(text="hi")], TOOLS, StreamLimits(100, request_timeout=0.2)
        ):
            pass
    await p.aclose()
    assert caught.value.retryable and "timed out" in str(caught.value)


async def test_413_request_too_large_is_a_context_error_not_retried(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=413,
            body=anthropic_error(413, "request_too_large", "Request exceeds the maximum size"),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert (
        not caught.value.retryable and caught.value.context_exceeded and caught.value.status == 413
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_client_errors_are_not_retryable(wire: WireServer, status: int) -> None:
    wire.queue(Reply(status=status, body=anthropic_error(status, "invalid_request_error", "nope")))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert not caught.value.retryable and caught.value.status == status
    assert not caught.value.context_exceeded


async def test_prompt_too_long_is_a_context_error(wire: WireServer) -> None:
    wire.queue(
        Reply(
            status=400,
            body=anthropic_error(
                400, "invalid_request_error", "prompt is too long: 210432 tokens > 200000 maximum"
            ),
        )
    )
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.context_exceeded and not caught.value.retryable


async def test_stream_cut_mid_turn_is_a_retryable_error_after_usage(wire: WireServer) -> None:
    events = anthropic_stream(text=["part", "ial", " answer"], input_tokens=900)
    wire.queue(Reply(events=events, cut_after=5))
    seen: list[ProviderEvent] = []
    p = provider(wire)
    with pytest.raises(ProviderError) as caught:
        async for event in p.stream("s", [UserMessage(text="hi")], TOOLS, LIMITS):
            seen.append(event)
    await p.aclose()
    assert caught.value.retryable
    assert any(isinstance(e, UsageUpdate) and e.usage.input_tokens == 900 for e in seen)
    assert text_of(seen) == "partial"


async def test_stream_ending_cleanly_without_message_stop_is_retryable(wire: WireServer) -> None:
    events = anthropic_stream(text=["never", " finished"])[:-2]
    wire.queue(Reply(events=events))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.retryable


async def test_malformed_json_in_the_stream_is_retryable(wire: WireServer) -> None:
    events = anthropic_stream(text=["ok"])
    events.insert(
        3, ("content_block_delta", '{"type": "content_block_delta", "index": 0, "delta": {"ty')
    )
    wire.queue(Reply(events=events))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.retryable
    assert "malformed" in str(caught.value)


async def test_overloaded_error_event_inside_a_200_stream_is_retryable(wire: WireServer) -> None:
    events = anthropic_stream(text=["ok"])[:3]
    events.append(("error", json.dumps(anthropic_error(529, "overloaded_error", "Overloaded"))))
    wire.queue(Reply(events=events))
    with pytest.raises(ProviderError) as caught:
        await collect(provider(wire))
    assert caught.value.retryable and caught.value.status == 529
