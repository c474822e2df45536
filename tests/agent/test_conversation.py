"""The neutral conversation model: JSON round trip, invariant checks, repair."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    ConversationProblem,
    Message,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
    check_conversation,
    conversation_from_json,
    conversation_to_json,
    repair_conversation,
)
from tests.agent.history_checks import check_all

CALL_A = ToolCall(id="a", name="view", arguments={"path": "x.py"})
CALL_B = ToolCall(id="b", name="run", arguments={"command": "ls"})
GOOD: list[Message] = [
    UserMessage(text="task ü"),
    AssistantMessage(text="two calls", tool_calls=(CALL_A, CALL_B), stop_reason="tool_use"),
    ToolResultsMessage(
        results=(
            ToolResult(call_id="a", name="view", content="1\tx"),
            ToolResult(call_id="b", name="run", content="boom", is_error=True),
        )
    ),
    AssistantMessage(text="done"),
    UserMessage(text="follow-up"),
]


def test_json_round_trip_is_lossless() -> None:
    data = conversation_to_json(GOOD)
    text = json.dumps(data)
    assert conversation_from_json(json.loads(text)) == GOOD
    assert data[2]["results"][1]["is_error"] is True


def test_malformed_json_is_refused() -> None:
    with pytest.raises(ValidationError):
        conversation_from_json([{"role": "robot", "text": "hi"}])


def test_good_conversation_passes_every_check() -> None:
    check_all(GOOD)


@pytest.mark.parametrize(
    "broken",
    [
        [UserMessage(text="x"), AssistantMessage(tool_calls=(CALL_A,))],
        [
            UserMessage(text="x"),
            AssistantMessage(tool_calls=(CALL_A, CALL_B)),
            ToolResultsMessage(results=(ToolResult(call_id="a", name="view", content=""),)),
        ],
        [
            UserMessage(text="x"),
            ToolResultsMessage(results=(ToolResult(call_id="a", name="view", content=""),)),
        ],
        [
            UserMessage(text="x"),
            AssistantMessage(tool_calls=(CALL_A,)),
            ToolResultsMessage(results=(ToolResult(call_id="a", name="view", content=""),)),
            AssistantMessage(tool_calls=(CALL_A,)),
            ToolResultsMessage(results=(ToolResult(call_id="a", name="view", content=""),)),
        ],
        [AssistantMessage(text="starts with the assistant")],
    ],
)
def test_broken_conversations_are_caught(broken: list[Message]) -> None:
    with pytest.raises(ConversationProblem):
        check_conversation(broken)


def test_repair_answers_every_call_and_drops_strays() -> None:
    broken: list[Message] = [
        UserMessage(text="x"),
        AssistantMessage(tool_calls=(CALL_A, CALL_B)),
        ToolResultsMessage(
            results=(
                ToolResult(call_id="b", name="run", content="ok"),
                ToolResult(call_id="zzz", name="run", content="stray"),
            )
        ),
        UserMessage(text="again"),
    ]
    repaired = repair_conversation(broken, note="interrupted")
    check_all(repaired)
    results = repaired[2]
    assert isinstance(results, ToolResultsMessage)
    assert [(r.call_id, r.content, r.is_error) for r in results.results] == [
        ("a", "interrupted", True),
        ("b", "ok", False),
    ]
    assert repair_conversation(GOOD, note="n") == GOOD


def test_arguments_that_were_not_json_are_sent_back_as_an_empty_object() -> None:
    bad = ToolCall(id="c", name="view", arguments_error="not JSON", raw_arguments='{"pa')
    assert bad.arguments_json() == "{}"
    fine = ToolCall(id="d", name="view", arguments={"path": "é"})
    assert json.loads(fine.arguments_json()) == {"path": "é"}
