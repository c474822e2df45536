"""Keeping the conversation inside the model's context window without wrecking the cache.

Old tool outputs are the first thing to go: they are replaced by a one-line note (the output's
first line, its size, and "run the tool again if you need it"). Elision happens in blocks, so
the cached prefix changes rarely: the newest `keep_recent` results are never touched by the age
rule, and older ones are elided only once `block` of them have piled up, all at once. When a
request nears the window (`high_water`), every older result is elided regardless of the block
size; `compact` is the last resort after a provider's context error: everything but the latest
result is elided and the latest is cut down to a share of the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from asynccoder_tui.agent.providers.base import ToolSpec
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    Message,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
)
from asynccoder_tui.agent.tokens import MESSAGE_OVERHEAD_TOKENS, count_tokens


@dataclass(frozen=True)
class ContextPolicy:
    keep_recent: int = 4
    """Newest tool results the age rule never elides."""
    block: int = 6
    """Older results are elided by age only when at least this many have accumulated."""
    min_result_tokens: int = 150
    """Results smaller than this are never worth eliding (and break the cache for nothing)."""
    high_water: float = 0.7
    """Share of the usable window above which every older result is elided."""
    compact_keep_share: float = 0.25
    """Share of the usable window the latest result may keep after `compact`."""


def elision_note(result: ToolResult, tokens: int) -> str:
    first = result.content.strip().splitlines()[0] if result.content.strip() else ""
    if len(first) > 160:
        first = first[:160] + "..."
    lines = result.content.count("\n") + 1
    return (
        f"[elided to save context: {result.name} output of {lines} lines (~{tokens} tokens)"
        + (f", which began: {first}" if first else "")
        + ". Run the tool again if you need it.]"
    )


@dataclass
class ContextManager:
    model_name: str
    context_window: int
    reserve_output: int
    policy: ContextPolicy = ContextPolicy()
    counter: Callable[[str, str], int] | None = None

    def count(self, text: str) -> int:
        if self.counter is not None:
            return self.counter(text, self.model_name)
        return count_tokens(text, self.model_name).tokens

    @property
    def usable(self) -> int:
        return max(1_000, self.context_window - self.reserve_output)

    def message_tokens(self, message: Message) -> int:
        if isinstance(message, UserMessage):
            return self.count(message.text) + MESSAGE_OVERHEAD_TOKENS
        if isinstance(message, AssistantMessage):
            total = self.count(message.text) + MESSAGE_OVERHEAD_TOKENS
            for call in message.tool_calls:
                total += self.count(call.name) + self.count(call.arguments_json()) + 8
            return total
        return sum(self.count(r.content) + MESSAGE_OVERHEAD_TOKENS + 4 for r in message.results)

    def request_tokens(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> int:
        """Estimated input tokens of a request (system, tool schemas, conversation)."""
        schemas = json.dumps([t.model_dump() for t in tools])
        return (
            self.count(system) + self.count(schemas) + sum(self.message_tokens(m) for m in messages)
        )

    def _results(self, messages: Sequence[Message]) -> list[tuple[int, int]]:
        """(message index, result index) of every tool result, oldest first."""
        return [
            (i, j)
            for i, message in enumerate(messages)
            if isinstance(message, ToolResultsMessage)
            for j in range(len(message.results))
        ]

    def _elide(self, messages: Sequence[Message], targets: set[tuple[int, int]]) -> list[Message]:
        updated: list[Message] = []
        for i, message in enumerate(messages):
            if not isinstance(message, ToolResultsMessage) or not any(t[0] == i for t in targets):
                updated.append(message)
                continue
            results = []
            for j, result in enumerate(message.results):
                if (i, j) in targets:
                    tokens = self.count(result.content)
                    result = result.model_copy(
                        update={"content": elision_note(result, tokens), "elided": True}
                    )
                results.append(result)
            updated.append(ToolResultsMessage(results=tuple(results)))
        return updated

    def _candidates(self, messages: Sequence[Message], keep: int) -> set[tuple[int, int]]:
        positions = self._results(messages)
        older = positions[: max(0, len(positions) - keep)]
        chosen: set[tuple[int, int]] = set()
        for i, j in older:
            message = messages[i]
            assert isinstance(message, ToolResultsMessage)
            result = message.results[j]
            if not result.elided and self.count(result.content) >= self.policy.min_result_tokens:
                chosen.add((i, j))
        return chosen

    def maintain(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> tuple[list[Message], int, str | None]:
        """(messages, results elided, reason) after the age and pressure rules."""
        candidates = self._candidates(messages, self.policy.keep_recent)
        if len(candidates) >= self.policy.block:
            return self._elide(messages, candidates), len(candidates), "age"
        if self.request_tokens(system, messages, tools) > self.policy.high_water * self.usable:
            candidates = self._candidates(messages, 1)
            if candidates:
                return self._elide(messages, candidates), len(candidates), "pressure"
        return list(messages), 0, None

    def compact(self, messages: Sequence[Message]) -> tuple[list[Message], int]:
        """Elide every result but the latest, and cut the latest to fit; (messages, changed)."""
        positions = self._results(messages)
        targets = {(i, j) for i, j in positions[:-1] if not self._result(messages, i, j).elided}
        updated = self._elide(messages, targets)
        changed = len(targets)
        if positions:
            i, j = positions[-1]
            last = self._result(updated, i, j)
            allowance = int(self.usable * self.policy.compact_keep_share)
            if self.count(last.content) > allowance:
                keep_chars = max(200, allowance * 3)
                text = last.content
                cut = (
                    text[: keep_chars // 2]
                    + "\n[... output cut to fit the context window ...]\n"
                    + text[-keep_chars // 2 :]
                )
                message = updated[i]
                assert isinstance(message, ToolResultsMessage)
                results = list(message.results)
                results[j] = last.model_copy(update={"content": cut})
                updated[i] = ToolResultsMessage(results=tuple(results))
                changed += 1
        return updated, changed

    @staticmethod
    def _result(messages: Sequence[Message], i: int, j: int) -> ToolResult:
        message = messages[i]
        assert isinstance(message, ToolResultsMessage)
        return message.results[j]
