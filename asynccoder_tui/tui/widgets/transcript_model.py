"""The transcript as a flat list of items built from a task's events.

An item is one source line of a message, one tool call, one notice (status, usage, retry,
error, review comment), a role label or a spacer. Consecutive `text_delta` events grow one
assistant message: finished lines become items that never change again and only the last,
partial line is rewritten as text streams in. A tool result is attached to its call by id; a
tool call's details (arguments and output, capped) are items inserted below it when expanded.

Payload fields read (anything missing or of an odd type is tolerated and shown as best it can):

- `message`: `role` (user, assistant, system), `text` (or `content`)
- `text_delta`: `text`
- `tool_call`: `id`, `name`, `arguments` (a dict, or a JSON string)
- `tool_result`: `id`, `output` (a string, or anything JSON can show), `is_error`
- `status`: `status`, `detail`
- `error`: `message`
- `usage`: `input_tokens`, `output_tokens`, `cost` (US dollars)
- `retry`: `attempt`, `delay` (seconds), `reason`
- `review_comment`: `path`, `hunk_index`, `text` (or `body`)

This module knows no widgets: it turns events into items and says which items changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from itertools import count
from typing import Any

from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.models import TaskEvent
from asynccoder_tui.tui.widgets.markdown_lines import FenceState, LineShape, advance, classify

TOOL_OUTPUT_MAX_LINES = 200
"""Lines of a tool's output shown when it is expanded; the rest is summarised in a note."""
TOOL_OUTPUT_MAX_CHARS = 20_000
ARGUMENT_SUMMARY_CHARS = 60
MAX_LINE_CHARS = 10_000
"""Characters of one message line shown; a longer line (minified output) is cut with a note."""


_UIDS = count()


class ItemKind(IntEnum):
    SPACER = 0
    ROLE = 1
    LINE = 2
    TOOL = 3
    DETAIL = 4
    NOTICE = 5


@dataclass(eq=False, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: Any = None
    output: str | None = None
    is_error: bool = False
    expanded: bool = False
    item: Item | None = None
    stopped: bool = False
    """The run ended (cancelled, failed, put back in the queue) before the tool's result."""

    @property
    def state(self) -> str:
        """`running`, `stopped`, `ok` or `error`."""
        if self.output is None:
            return "stopped" if self.stopped else "running"
        return "error" if self.is_error else "ok"


@dataclass(eq=False, slots=True)
class Item:
    kind: ItemKind
    shape: LineShape = field(default_factory=lambda: LineShape("blank", ""))
    style: str = ""
    """ROLE: the role; NOTICE: status, error, usage, retry or comment; DETAIL: label or body."""
    tool: ToolCall | None = None
    version: int = 0
    """Bumped whenever the item's content changes (paint cache key)."""
    partial: bool = False
    """The last line of a message still streaming; takes no room while it is empty."""
    uid: int = field(default_factory=lambda: next(_UIDS))
    """Unique for the life of the process (paint cache key)."""


def shape_of(line: str, fence: FenceState) -> LineShape:
    """The shape of a message line, cut to `MAX_LINE_CHARS` with a note when longer."""
    if len(line) > MAX_LINE_CHARS:
        hidden = len(line) - MAX_LINE_CHARS
        line = f"{line[:MAX_LINE_CHARS]} … ({hidden:,} more characters not shown)"
    return classify(line, fence)


def _payload(event: TaskEvent) -> Mapping[str, Any]:
    payload = event.payload
    return payload if isinstance(payload, Mapping) else {}


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _first(payload: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        if payload.get(key) is not None:
            return _str(payload[key])
    return ""


def _number(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return _str(value) or "?"


def _cost(value: Any) -> str:
    try:
        return f"${Decimal(str(value)):.4f}"
    except (InvalidOperation, ValueError):
        return _str(value)


def argument_summary(arguments: Any) -> str:
    """`path='a.py', start=3` style summary of a tool call's arguments, kept short."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments.replace("\n", " ")[:ARGUMENT_SUMMARY_CHARS]
    if isinstance(arguments, Mapping):
        parts = []
        for key, value in arguments.items():
            shown = value if isinstance(value, str) else _str(value)
            shown = shown.replace("\n", "⏎")
            if len(shown) > 40:
                shown = shown[:39] + "…"
            parts.append(f"{key}={shown!r}" if isinstance(value, str) else f"{key}={shown}")
        summary = ", ".join(parts)
    else:
        summary = _str(arguments)
    if len(summary) > ARGUMENT_SUMMARY_CHARS:
        summary = summary[: ARGUMENT_SUMMARY_CHARS - 1] + "…"
    return summary


class TranscriptModel:
    """Items of a transcript, grown event by event."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.tools: dict[str, ToolCall] = {}
        self._fence = FenceState()
        self._streaming: Item | None = None
        """The last, partial line of the assistant message being streamed."""
        self._last_group = ""
        self._partial = ""
        self.event_count = 0
        self._running: dict[str, ToolCall] = {}
        """Tool calls without a result yet."""

    def apply(self, events: Iterable[TaskEvent]) -> int:
        """Apply events; returns the index of the first item that changed or was added."""
        first = len(self.items)
        for event in events:
            self.event_count += 1
            changed = self._apply(event)
            if changed is not None:
                first = min(first, changed)
        return first

    # -- events -----------------------------------------------------------------------------

    def _apply(self, event: TaskEvent) -> int | None:
        kind = event.kind
        payload = _payload(event)
        if kind == EventKind.TEXT_DELTA:
            return self._delta(_first(payload, "text", "delta"))
        closed = self._close_stream()
        changed = self._apply_other(kind, payload)
        return changed if closed is None else min(closed, changed)

    def _close_stream(self) -> int | None:
        """End the streamed message; a trailing empty line is dropped. Returns what changed."""
        item, self._streaming = self._streaming, None
        if item is None:
            return None
        item.partial = False
        if not self._partial.strip() and self.items[-1] is item:
            self.items.pop()
            return len(self.items)
        item.version += 1
        return self.index_of(item)

    def _apply_other(self, kind: str, payload: Mapping[str, Any]) -> int:
        if kind == EventKind.MESSAGE:
            role = _first(payload, "role") or "assistant"
            return self._message(role, _first(payload, "text", "content"))
        if kind == EventKind.TOOL_CALL:
            return self._tool_call(payload)
        if kind == EventKind.TOOL_RESULT:
            return self._tool_result(payload)
        return self._notice(str(kind), payload)

    def _group(self, group: str) -> None:
        """Start a group of items: messages stand apart; tool lines and notices run together."""
        if self.items and (group == "message" or self._last_group != group):
            self.items.append(Item(ItemKind.SPACER))
        self._last_group = group

    def _message(self, role: str, text: str) -> int:
        first = len(self.items)
        self._group("message")
        self.items.append(Item(ItemKind.ROLE, style=role))
        fence = FenceState()
        for line in text.rstrip("\n").split("\n"):
            self.items.append(Item(ItemKind.LINE, shape_of(line, fence), style=role))
            advance(line, fence)
        return first

    def _delta(self, text: str) -> int | None:
        if not text:
            return None
        item = self._streaming
        first = len(self.items)
        if item is None:
            self._group("message")
            self.items.append(Item(ItemKind.ROLE, style="assistant"))
            self._fence = FenceState()
            item = Item(ItemKind.LINE, style="assistant")
            self.items.append(item)
            source = text
        else:
            first = len(self.items) - 1
            source = self._partial + text
        lines = source.split("\n")
        for line in lines[:-1]:
            self._set_line(item, line)
            item.partial = False
            advance(line, self._fence)
            item = Item(ItemKind.LINE, style="assistant")
            self.items.append(item)
        self._set_line(item, lines[-1])
        item.partial = True
        self._streaming = item
        return first

    def index_of(self, item: Item) -> int:
        """Index of `item`, searched from the end (results and updates land near it)."""
        items = self.items
        for index in range(len(items) - 1, -1, -1):
            if items[index] is item:
                return index
        raise ValueError("item not in transcript")

    def _set_line(self, item: Item, line: str) -> None:
        self._partial = line
        item.shape = shape_of(line, self._fence)
        item.version += 1

    def _tool_call(self, payload: Mapping[str, Any]) -> int:
        call_id = _first(payload, "id", "tool_call_id") or f"#{len(self.tools)}"
        tool = self.tools.get(call_id)
        if tool is not None and tool.item is not None:
            tool.name = _first(payload, "name") or tool.name
            tool.arguments = payload.get("arguments", tool.arguments)
            tool.item.version += 1
            return self.index_of(tool.item)
        first = len(self.items)
        self._group("log")
        tool = ToolCall(call_id, _first(payload, "name") or "tool", payload.get("arguments"))
        tool.item = Item(ItemKind.TOOL, tool=tool)
        self.tools[call_id] = tool
        self._running[call_id] = tool
        self.items.append(tool.item)
        return first

    def _tool_result(self, payload: Mapping[str, Any]) -> int:
        call_id = _first(payload, "id", "tool_call_id")
        tool = self.tools.get(call_id) if call_id else None
        first = len(self.items)
        if tool is None or tool.item is None:
            self._group("log")
            tool = ToolCall(call_id or f"#{len(self.tools)}", "result")
            tool.item = Item(ItemKind.TOOL, tool=tool)
            self.tools[tool.id] = tool
            self.items.append(tool.item)
        self._running.pop(tool.id, None)
        output = payload.get("output", payload.get("content"))
        tool.output = output if isinstance(output, str) else _str(output)
        tool.is_error = bool(payload.get("is_error", False))
        tool.item.version += 1
        index = self.index_of(tool.item) if first == len(self.items) else first
        if tool.expanded:
            self.collapse(tool)
            self.expand(tool)
        return index

    def _notice(self, kind: str, payload: Mapping[str, Any]) -> int:
        first = len(self.items)
        if kind == "status" and _first(payload, "status") in RUN_ENDS:
            first = min([first, *(self._stop(tool) for tool in self._running.values())])
            self._running.clear()
        self._group("log")
        shape = LineShape("plain", notice_text(kind, payload), "", "  ")
        self.items.append(Item(ItemKind.NOTICE, shape, kind))
        return first

    def _stop(self, tool: ToolCall) -> int:
        """Mark a tool call whose run ended without its result; returns its index."""
        tool.stopped = True
        assert tool.item is not None
        tool.item.version += 1
        return self.index_of(tool.item)

    # -- tool details -----------------------------------------------------------------------

    def expand(self, tool: ToolCall) -> int:
        """Insert the tool's detail items below its line; returns the first index changed."""
        assert tool.item is not None
        index = self.index_of(tool.item)
        tool.expanded = True
        tool.item.version += 1
        details = [
            Item(ItemKind.DETAIL, LineShape("plain", line, "    ", "    "), style)
            for style, line in detail_lines(tool)
        ]
        self.items[index + 1 : index + 1] = details
        return index

    def collapse(self, tool: ToolCall) -> int:
        assert tool.item is not None
        index = self.index_of(tool.item)
        tool.expanded = False
        tool.item.version += 1
        end = index + 1
        while end < len(self.items) and self.items[end].kind == ItemKind.DETAIL:
            end += 1
        del self.items[index + 1 : end]
        return index


def detail_lines(tool: ToolCall) -> list[tuple[str, str]]:
    """(style, text) lines shown under an expanded tool call: arguments, then output, capped."""
    lines: list[tuple[str, str]] = [("label", "arguments")]
    arguments = tool.arguments
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    if isinstance(arguments, str):
        shown = arguments
    else:
        shown = json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
    lines.extend(("body", line) for line in shown.split("\n")[:TOOL_OUTPUT_MAX_LINES])
    if tool.output is None:
        lines.append(
            ("label", "no result: the run ended first" if tool.stopped else "no result yet")
        )
        return lines
    lines.append(("label", "error output" if tool.is_error else "output"))
    output = tool.output
    cut_chars = len(output) > TOOL_OUTPUT_MAX_CHARS
    body = output[:TOOL_OUTPUT_MAX_CHARS].split("\n")
    total_lines = output.count("\n") + 1
    shown_lines = body[:TOOL_OUTPUT_MAX_LINES]
    lines.extend(("body", line) for line in shown_lines)
    if len(shown_lines) < total_lines or cut_chars:
        hidden = total_lines - len(shown_lines)
        lines.append(
            (
                "note",
                f"… output truncated: {hidden:,} more lines, {len(output):,} characters in all",
            )
        )
    return lines


RUN_ENDS = frozenset({"completed", "failed", "cancelled", "queued", "running"})
"""Statuses that end a run (or start the next one): a tool call still without its result
then never gets one."""


def _first_line(text: str) -> str:
    """The first non-blank line of `text`, with " …" when more follow: a summary can hold a
    whole plan as JSON, which the finish call it came from shows in full."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] + (" …" if len(lines) > 1 else "")


def notice_text(kind: str, payload: Mapping[str, Any]) -> str:
    """A status, error, usage, retry or review-comment event in words."""
    if kind == "status":
        status = _first(payload, "status") or "unknown"
        detail = _first_line(_first(payload, "detail", "message"))
        return f"● Status: {status}" + (f" — {detail}" if detail else "")
    if kind == "error":
        return "✗ Error: " + (_first(payload, "message", "error", "detail") or "unknown error")
    if kind == "usage":
        parts = [
            f"{_number(payload.get('input_tokens'))} input",
            f"{_number(payload.get('output_tokens'))} output tokens",
        ]
        if payload.get("cost") is not None:
            parts.append(_cost(payload["cost"]))
        return "Σ Usage: " + " · ".join(parts)
    if kind == "retry":
        attempt = _first(payload, "attempt")
        delay: Any = payload.get("delay")
        try:
            wait = f" in {float(delay):.1f} s"
        except (TypeError, ValueError):
            wait = ""
        reason = _first(payload, "reason", "message")
        head = f"↻ Retrying (attempt {attempt}){wait}" if attempt else f"↻ Retrying{wait}"
        return head + (f": {reason}" if reason else "")
    if kind == "review_comment":
        path = _first(payload, "path")
        hunk = payload.get("hunk_index")
        where = f" on {path}" if path else ""
        if isinstance(hunk, int):
            where += f" (hunk {hunk + 1})"
        return f"✎ Review comment{where}: " + _first(payload, "text", "body", "comment")
    return f"{kind}: {_str(dict(payload))}"
