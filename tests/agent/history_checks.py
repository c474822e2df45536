"""Checks that a conversation renders into requests each provider would accept.

They encode the APIs' rules for tool use: Anthropic wants alternating roles, every `tool_use`
answered by a `tool_result` at the start of the next user message, and no empty text blocks;
the Responses API wants each `function_call` answered by one `function_call_output`; Chat
Completions wants each assistant `tool_calls` message followed directly by one `tool` message
per call.
"""

from __future__ import annotations

from collections.abc import Sequence

from asynccoder_tui.agent.providers.anthropic import render_request
from asynccoder_tui.agent.providers.messages import Message, check_conversation
from asynccoder_tui.agent.providers.openai import render_chat_messages, render_responses_input


def check_anthropic(messages: Sequence[Message]) -> None:
    rendered = render_request("system", messages, [])["messages"]
    assert rendered and rendered[0]["role"] == "user", "must start with a user message"
    for index, message in enumerate(rendered):
        if index:
            assert message["role"] != rendered[index - 1]["role"], f"roles repeat at {index}"
        for block in message["content"]:
            if block["type"] == "text":
                assert block["text"].strip(), f"empty text block in message {index}"
        uses = [b["id"] for b in message["content"] if b["type"] == "tool_use"]
        results = [b["tool_use_id"] for b in message["content"] if b["type"] == "tool_result"]
        if results:
            previous = rendered[index - 1] if index else None
            assert previous is not None and previous["role"] == "assistant"
            asked = [b["id"] for b in previous["content"] if b["type"] == "tool_use"]
            assert results == asked, f"results {results} do not answer {asked}"
            leading = [b["type"] for b in message["content"][: len(results)]]
            assert leading == ["tool_result"] * len(results), "tool results must come first"
        if uses:
            assert index + 1 < len(rendered), f"tool_use {uses} has no results"
            answered = [
                b["tool_use_id"]
                for b in rendered[index + 1]["content"]
                if b["type"] == "tool_result"
            ]
            assert answered == uses


def check_responses(messages: Sequence[Message]) -> None:
    items = render_responses_input(messages)
    open_calls: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item.get("type") == "function_call":
            assert item["call_id"] not in seen
            seen.add(item["call_id"])
            open_calls.append(item["call_id"])
        elif item.get("type") == "function_call_output":
            assert item["call_id"] in open_calls, f"output for unknown call {item['call_id']}"
            open_calls.remove(item["call_id"])
        elif item.get("type") == "message":
            assert item["content"], "empty message"
    assert not open_calls, f"calls without output: {open_calls}"


def check_chat(messages: Sequence[Message]) -> None:
    rendered = render_chat_messages("system", messages)
    expected: list[str] = []
    for message in rendered:
        if expected:
            assert message["role"] == "tool", "tool results must follow their assistant message"
            assert message["tool_call_id"] == expected.pop(0)
            continue
        assert message["role"] != "tool", "tool message without a preceding call"
        if message["role"] == "assistant" and message.get("tool_calls"):
            expected = [call["id"] for call in message["tool_calls"]]
    assert not expected, f"calls without results: {expected}"


def check_all(messages: Sequence[Message]) -> None:
    check_conversation(messages)
    check_anthropic(messages)
    check_responses(messages)
    check_chat(messages)
