"""Hostile model API answers, through the real Anthropic and OpenAI SDKs against a local server
speaking their wire formats (`tests/agent/wire.py`): bodies that are not event streams, events
that are not JSON or of unknown kinds, streams that stop early or stall, tool calls with broken
arguments or a thousand of them, 5 MB of text, error bodies that are HTML, usage that is
negative or impossible, and retry-after headers that are garbage or a lifetime.

Most cases read one turn straight from the provider (a `ProviderError` in words, or a turn);
the retry-after cases run the agent loop, which must give up at once instead of waiting.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asynccoder_tui.agent import RetryPolicy, run_agent
from asynccoder_tui.agent.events import Emitter
from asynccoder_tui.agent.providers import make_provider
from asynccoder_tui.agent.providers.base import StreamLimits
from asynccoder_tui.agent.providers.messages import UserMessage
from asynccoder_tui.agent.tools import tool_specs
from asynccoder_tui.agent.turn import PartialTurn, stream_turn
from asynccoder_tui.domain.enums import ProviderKind
from tests.agent.conftest import make_model
from tests.agent.wire import (
    Reply,
    WireServer,
    anthropic_error,
    anthropic_stream,
    chat_stream,
    fragments,
    responses_stream,
)
from tests.reliability.hostile import OK, Case, NoHarm, Refused

ANTHROPIC_KEY = "sk-ant-api03-hostile-provider-key-0000000000"
OPENAI_KEY = "sk-proj-hostile-provider-key-000000000000000"
LIMITS = StreamLimits(max_output_tokens=2048, request_timeout=1.5)
ANT, OAI, CMP = "anthropic", "openai", "compatible"


def _a(**kw: Any) -> list[tuple[str | None, str]]:
    return anthropic_stream(**kw)


def _with(
    events: list[tuple[str | None, str]], at: int, *extra: tuple[str | None, str]
) -> list[tuple[str | None, str]]:
    return [*events[:at], *extra, *events[at:]]


def _usage(events: list[tuple[str | None, str]], **numbers: int) -> list[tuple[str | None, str]]:
    """Anthropic events with message_start's and message_delta's usage replaced."""
    out = []
    for name, data in events:
        body = json.loads(data)
        if body.get("type") == "message_start":
            body["message"]["usage"].update(numbers)
        elif body.get("type") == "message_delta":
            body["usage"].update({k: v for k, v in numbers.items() if k == "output_tokens"})
        out.append((name, json.dumps(body)))
    return out


TOOL = [("toolu_1", "view", fragments({"path": "README.md"}))]
THOUSAND = [(f"toolu_{n}", "view", fragments({"path": f"f{n}.txt"}, 50)) for n in range(1000)]
UNKNOWN_BLOCK = ("content_block_start", json.dumps(
    {"type": "content_block_start", "index": 5, "content_block": {"type": "server_tool_use", "id": "s1", "name": "web"}}))  # fmt: skip
RESPONSE_FAILED = [("response.failed", json.dumps({
    "type": "response.failed", "sequence_number": 1,
    "response": {"id": "r", "object": "response", "created_at": 1, "status": "failed", "model": "m",
                 "output": [], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
                 "error": {"code": "server_error", "message": "The model failed."}}}))]  # fmt: skip

CASES = [
    Case("anthropic: JSON instead of a stream", (ANT, Reply(body={"id": "msg", "content": []})), "ended before"),
    Case("anthropic: event that is not JSON", (ANT, Reply(events=_with(_a(text=["hi"]), 2, ("content_block_delta", "not json")))), ("malformed", "JSON")),
    Case("anthropic: unknown event kind", (ANT, Reply(events=_with(_a(text=["hi"]), 2, ("surprise", '{"type": "surprise"}')))), OK),
    Case("anthropic: unknown content block", (ANT, Reply(events=_with(_a(text=["hi"]), 2, UNKNOWN_BLOCK))), OK),
    Case("anthropic: no message_stop", (ANT, Reply(events=_a(text=["hi"])[:-1])), "ended before"),
    Case("anthropic: cut after a tool call", (ANT, Reply(events=_a(tools=TOOL, stop_reason="tool_use"), cut_after=8)), ("ended before", "connection", "incomplete")),
    Case("anthropic: tool arguments not JSON", (ANT, Reply(events=_a(tools=[("toolu_1", "view", ['{"path": "README'])], stop_reason="tool_use"))), OK),
    Case("anthropic: a thousand tool calls", (ANT, Reply(events=_a(tools=THOUSAND, stop_reason="tool_use"))), OK),
    Case("anthropic: 5 MB of text", (ANT, Reply(events=_a(text=["x" * 5_000_000]))), OK),
    Case("anthropic: stalls mid-stream", (ANT, Reply(events=_a(text=["a", "b", "c"]), delay=2.0)), "timed out"),
    Case("anthropic: 500 with HTML", (ANT, Reply(status=500, body="<html>Internal Server Error</html>")), "API error 500"),
    Case("anthropic: 400 that is not JSON", (ANT, Reply(status=400, body="bad request")), "API error 400"),
    Case("anthropic: 413", (ANT, Reply(status=413, body=anthropic_error(413, "request_too_large", "Request too large"))), "413"),
    Case("anthropic: 401", (ANT, Reply(status=401, body=anthropic_error(401, "authentication_error", "invalid x-api-key"))), "check the API key"),
    Case("anthropic: overloaded mid-stream", (ANT, Reply(events=_with(_a(text=["hi"]), 3, ("error", json.dumps(anthropic_error(529, "overloaded_error", "Overloaded")))))), "Overloaded"),
    Case("anthropic: negative usage", (ANT, Reply(events=_usage(_a(text=["hi"]), input_tokens=-500, output_tokens=-7))), OK),
    Case("anthropic: impossible usage", (ANT, Reply(events=_usage(_a(text=["hi"]), input_tokens=10**15))), "impossible usage"),
    Case("anthropic: usage of the wrong type", (ANT, Reply(events=_usage(_a(text=["hi"]), input_tokens="many"))), OK),
    Case("anthropic: retry-after of a lifetime", ("loop", ANT, Reply(status=429, headers={"retry-after": "1e12"}, body=anthropic_error(429, "rate_limit_error", "slow down"))), "429"),
    Case("anthropic: retry-after garbage", ("loop", ANT, Reply(status=429, headers={"retry-after": "soon"}, body=anthropic_error(429, "rate_limit_error", "slow down"))), "429"),
    Case("anthropic: retry-after negative", ("loop", ANT, Reply(status=429, headers={"retry-after": "-5"}, body=anthropic_error(429, "rate_limit_error", "slow down"))), "429"),
    Case("openai: [DONE] at once", (OAI, Reply(events=[(None, "[DONE]")])), "ended before"),
    Case("openai: response failed", (OAI, Reply(events=RESPONSE_FAILED)), "The model failed"),
    Case("openai: error event", (OAI, Reply(events=[("error", json.dumps({"type": "error", "code": "server_error", "message": "boom", "param": None, "sequence_number": 0}))])), "boom"),
    Case("openai: event that is not JSON", (OAI, Reply(events=_with(responses_stream(text=["hi"]), 2, (None, "{broken")))), ("malformed", "JSON")),
    Case("openai: a plain JSON body", (OAI, Reply(body={"object": "response", "output": []})), ("ended before", "unexpected")),
    Case("openai: tool arguments not JSON", (OAI, Reply(events=responses_stream(tools=[("c1", "view", ['{"pa'])]))), OK),
    Case("openai: 502 with HTML", (OAI, Reply(status=502, body="<html>bad gateway</html>")), "API error 502"),
    Case("openai: 400 context length", (OAI, Reply(status=400, body={"error": {"message": "maximum context length exceeded", "type": "invalid_request_error", "code": "context_length_exceeded", "param": None}})), "context"),
    Case("compatible: chunk that is not JSON", (CMP, Reply(events=_with(chat_stream(text=["hi"]), 1, (None, "{nope")))), ("malformed", "JSON")),
    Case("compatible: no usage, odd finish", (CMP, Reply(events=chat_stream(text=["hi"], finish_reason="weird", usage=False))), OK),
    Case("compatible: tool call index of a billion", (CMP, Reply(events=[(n, d.replace('"index":0', '"index":1000000000')) for n, d in chat_stream(tools=[("c1", "view", ['{"path":"a"}'])])])), OK),
]  # fmt: skip


class ProvidersRunner(NoHarm):
    def __init__(self, wire: WireServer) -> None:
        self.wire = wire

    def _provider(self, kind: str) -> tuple[Any, Any]:
        if kind == ANT:
            model = make_model("claude-test", ProviderKind.ANTHROPIC, base_url=self.wire.url)
        elif kind == OAI:
            model = make_model("gpt-test", ProviderKind.OPENAI, base_url=self.wire.url)
        else:
            model = make_model("local-test", ProviderKind.OPENAI_COMPATIBLE, base_url=self.wire.url)
        provider = make_provider(model, anthropic_api_key=ANTHROPIC_KEY, openai_api_key=OPENAI_KEY)
        return model, provider

    async def attempt(self, case: Case) -> str:
        self.wire.replies.clear()
        if case.value[0] == "loop":
            return await self._loop(case.value[1], case.value[2])
        kind, reply = case.value
        self.wire.queue(reply)
        _, provider = self._provider(kind)
        try:
            turn = await stream_turn(
                provider, "You are a test.", [UserMessage(text="hi")],
                tool_specs(["view", "finish"]), LIMITS, emit=Emitter(None), partial=PartialTurn(),
            )  # fmt: skip
        finally:
            await provider.aclose()
        for value in turn.usage.model_dump().values():
            if isinstance(value, int) and value < 0:
                raise AssertionError(f"negative usage reached the bill: {turn.usage}")
        return f"{len(turn.text)} characters, {len(turn.calls)} calls, {turn.stop_reason}"

    async def _loop(self, kind: str, reply: Reply) -> str:
        self.wire.queue(*[reply] * 10)
        model, provider = self._provider(kind)
        started = time.monotonic()
        try:
            outcome = await run_agent(
                provider, self.wire_root, model=model, prompt="hi", repo_map=False,
                retry=RetryPolicy(max_retries=3, base_delay=0.01, max_delay=0.05, max_total_wait=2.0),
                request_timeout=LIMITS.request_timeout,
            )  # fmt: skip
        finally:
            await provider.aclose()
        took = time.monotonic() - started
        if took > 10:
            raise AssertionError(f"the loop waited {took:.0f} s on a retry-after")
        if outcome.exit_status.value != "submitted":
            raise Refused(f"{outcome.exit_status.value}: {outcome.error}")
        return outcome.exit_status.value

    wire_root: Path = Path(".")


class ProvidersGroup:
    name = "providers"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        wire = WireServer()
        runner = ProvidersRunner(wire)
        runner.wire_root = workdir / "ws"
        runner.wire_root.mkdir()
        (runner.wire_root / "README.md").write_text("# Hi\n")
        try:
            yield runner
        finally:
            wire.close()


GROUP = ProvidersGroup()

__all__ = ["GROUP"]
