"""The loop end to end through the real SDKs and the local wire-format server."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from asynccoder_tui.agent import ExitStatus, RetryPolicy, run_agent
from asynccoder_tui.agent.providers import make_provider
from asynccoder_tui.agent.tokens import cost_of
from asynccoder_tui.domain.enums import EventKind, ProviderKind
from tests.agent.conftest import Recorder, make_model
from tests.agent.history_checks import check_all
from tests.agent.wire import (
    Reply,
    WireServer,
    anthropic_error,
    anthropic_stream,
    fragments,
    responses_stream,
)

ANTHROPIC_KEY = "sk-ant-api03-wire-test-key-abcdefghij"
OPENAI_KEY = "sk-proj-wire-test-key-abcdefghijklmnop"


async def no_sleep(delay: float) -> None:
    return None


async def test_anthropic_task_with_retries_caching_and_billing(
    wire: WireServer, workspace: Path, recorder: Recorder
) -> None:
    model = make_model("claude-test", ProviderKind.ANTHROPIC, base_url=wire.url)
    wire.queue(
        Reply(status=529, body=anthropic_error(529, "overloaded_error", "Overloaded")),
        Reply(
            events=anthropic_stream(
                text=["Let me read it."],
                tools=[("toolu_1", "view", fragments({"path": "src/app.py"}, 2))],
                stop_reason="tool_use",
                input_tokens=1_500,
                cache_write=1_200,
                output_tokens=40,
            )
        ),
        Reply(
            events=anthropic_stream(
                text=["Done."],
                tools=[("toolu_2", "finish", fragments({"summary": "It greets."}))],
                stop_reason="tool_use",
                input_tokens=90,
                cache_read=2_700,
                cache_write=120,
                output_tokens=30,
            )
        ),
    )
    provider = make_provider(model, anthropic_api_key=ANTHROPIC_KEY)
    outcome = await run_agent(
        provider,
        workspace,
        model=model,
        prompt="What does greet do?",
        mode="ask",
        emit=recorder,
        retry=RetryPolicy(sleep=no_sleep),
        repo_map=False,
    )
    await provider.aclose()
    assert outcome.exit_status is ExitStatus.SUBMITTED and outcome.summary == "It greets."
    assert len(wire.requests) == 3 and len(recorder.of(EventKind.RETRY)) == 1
    assert outcome.usage.cache_read_tokens == 2_700 and outcome.usage.cache_write_tokens == 1_320
    assert outcome.cost == cost_of(outcome.usage, model)
    assert outcome.cost == Decimal("0.01158")  # 1590*3 + 70*15 + 2700*0.3 + 1320*3.75, per million
    last = wire.requests[2].body
    assert last["messages"][-1]["content"][0]["type"] == "tool_result"
    assert last["messages"][-1]["content"][0]["tool_use_id"] == "toolu_1"
    assert "def greet" in last["messages"][-1]["content"][0]["content"]
    assert last["system"][0]["cache_control"] == {"type": "ephemeral"}
    check_all(outcome.conversation)
    assert ANTHROPIC_KEY not in json.dumps([e.as_dict() for e in recorder.events])


async def test_openai_task_recovers_from_a_cut_stream(
    wire: WireServer, workspace: Path, recorder: Recorder
) -> None:
    model = make_model(
        "gpt-test",
        ProviderKind.OPENAI,
        input_price="1.25",
        output_price="10",
        cache_read_price="0.125",
        cache_write_price="0",
        base_url=f"{wire.url}/v1",
    )
    wire.queue(
        Reply(events=responses_stream(text=["I will ", "look"]), cut_after=5),
        Reply(
            events=responses_stream(
                tools=[
                    (
                        "call_9",
                        "edit",
                        fragments({"path": "src/app.py", "old_str": "hello ", "new_str": "hi "}, 3),
                    )
                ],
                input_tokens=2_000,
                cached_tokens=1_024,
                output_tokens=25,
            )
        ),
        Reply(
            events=responses_stream(
                tools=[("call_10", "finish", fragments({"summary": "Greeting shortened."}))],
                input_tokens=2_300,
                cached_tokens=1_920,
                output_tokens=15,
            )
        ),
    )
    provider = make_provider(model, openai_api_key=OPENAI_KEY)
    outcome = await run_agent(
        provider,
        workspace,
        model=model,
        prompt="Shorten the greeting.",
        emit=recorder,
        retry=RetryPolicy(sleep=no_sleep),
        repo_map=False,
    )
    await provider.aclose()
    assert outcome.exit_status is ExitStatus.SUBMITTED
    assert "'hi '" in (workspace / "src" / "app.py").read_text()
    usage = recorder.of(EventKind.USAGE)
    assert [u["failed"] for u in usage] == [True, False, False]
    assert usage[0]["estimated"]  # the cut stream was billed from our estimate
    assert outcome.usage.cache_read_tokens == 1_024 + 1_920
    inputs = wire.requests[2].body["input"]
    assert inputs[-1]["type"] == "function_call_output" and inputs[-1]["call_id"] == "call_9"
    assert wire.requests[2].body["prompt_cache_key"] == wire.requests[1].body["prompt_cache_key"]
    check_all(outcome.conversation)
    assert OPENAI_KEY not in json.dumps([e.as_dict() for e in recorder.events])
