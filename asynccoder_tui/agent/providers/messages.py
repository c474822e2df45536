"""The neutral conversation model every provider renders from, and its JSON form.

A task's conversation is a list of `Message`s: the user's words, assistant turns (text plus tool
calls) and the results of those tool calls. It is provider-neutral, so a task started on one
provider can be resumed on another, and it round-trips through plain JSON
(`conversation_to_json` / `conversation_from_json`) so the engine can store it and hand it back
for a follow-up. The system prompt is not part of it: the loop rebuilds that from the mode.

Invariant the loop keeps and `check_conversation` verifies: every tool call of an assistant turn
is answered by exactly one result, with the same id, in the tool-results message that directly
follows it. `repair_conversation` restores that invariant for conversations that were cut short
(a crash between a tool call and its result).

This module imports only pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

CONVERSATION_FORMAT = 1
"""Version of the JSON form; bumped when a change is not backwards compatible."""


class ToolCall(BaseModel):
    """One call of a tool by the model."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_error: str | None = None
    """Set when the model's arguments were not a JSON object; `raw_arguments` keeps them."""
    raw_arguments: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the JSON text providers expect on the wire."""
        import json

        if self.arguments_error is not None and self.raw_arguments is not None:
            # Echo back what the model sent only when it is at least valid JSON; providers
            # reject assistant turns whose arguments do not parse.
            try:
                json.loads(self.raw_arguments)
            except ValueError:
                return "{}"
            return self.raw_arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class ToolResult(BaseModel):
    """What one tool call produced, as the model will read it."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    name: str
    content: str
    is_error: bool = False
    elided: bool = False
    """True when `content` was replaced by a short note to keep the context small."""


class UserMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["user"] = "user"
    text: str


class AssistantMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["assistant"] = "assistant"
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str | None = None
    interrupted: bool = False
    """True when the turn was cut short (cancelled or failed mid-stream)."""


class ToolResultsMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["tool"] = "tool"
    results: tuple[ToolResult, ...]


Message = Annotated[
    UserMessage | AssistantMessage | ToolResultsMessage, Field(discriminator="role")
]

_MESSAGES = TypeAdapter(list[Message])


def conversation_to_json(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as plain JSON-serialisable dicts (for `jsonb` storage)."""
    return [m.model_dump(mode="json") for m in messages]


def conversation_from_json(data: Iterable[dict[str, Any]]) -> list[Message]:
    """Rebuild a conversation stored by `conversation_to_json`.

    Raises `pydantic.ValidationError` when the data is not a conversation.
    """
    return _MESSAGES.validate_python(list(data))


class ConversationProblem(ValueError):
    """A conversation breaks the one-result-per-call invariant."""


def check_conversation(messages: Sequence[Message]) -> None:
    """Raise `ConversationProblem` unless every tool call has exactly one result right after it.

    Also refuses results that answer no call, duplicate call ids, and a conversation that does
    not start with a user message.
    """
    if messages and not isinstance(messages[0], UserMessage):
        raise ConversationProblem("a conversation must start with a user message")
    seen: set[str] = set()
    for index, message in enumerate(messages):
        if isinstance(message, ToolResultsMessage):
            previous = messages[index - 1] if index else None
            if not isinstance(previous, AssistantMessage) or not previous.tool_calls:
                raise ConversationProblem(f"message {index}: tool results without tool calls")
            continue
        if not isinstance(message, AssistantMessage) or not message.tool_calls:
            continue
        ids = [call.id for call in message.tool_calls]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ConversationProblem(f"message {index}: duplicate tool call ids {ids}")
        seen.update(ids)
        following = messages[index + 1] if index + 1 < len(messages) else None
        if not isinstance(following, ToolResultsMessage):
            raise ConversationProblem(f"message {index}: tool calls {ids} have no results")
        answered = [result.call_id for result in following.results]
        if answered != ids:
            raise ConversationProblem(
                f"message {index}: tool calls {ids} answered by results {answered}"
            )


def repair_conversation(messages: Sequence[Message], *, note: str) -> list[Message]:
    """A copy of `messages` in which every unanswered tool call gets an error result `note`.

    Results for calls that were never made are dropped. Well-formed conversations come back
    unchanged.
    """
    repaired: list[Message] = []
    for index, message in enumerate(messages):
        if isinstance(message, ToolResultsMessage):
            continue  # re-emitted below, right after the assistant turn it answers
        repaired.append(message)
        if not isinstance(message, AssistantMessage) or not message.tool_calls:
            continue
        following = messages[index + 1] if index + 1 < len(messages) else None
        given: dict[str, ToolResult] = {}
        if isinstance(following, ToolResultsMessage):
            for result in following.results:
                given.setdefault(result.call_id, result)
        results = tuple(
            given.get(call.id)
            or ToolResult(call_id=call.id, name=call.name, content=note, is_error=True)
            for call in message.tool_calls
        )
        repaired.append(ToolResultsMessage(results=results))
    return repaired
