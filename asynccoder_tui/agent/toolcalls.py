"""Running one turn's tool calls in order, with exactly one result per call id.

A call the model cut off at the output limit, or any call after `finish`, is answered without
being run. When the run is cancelled or out of time midway, the call in flight is answered
"cancelled" (or "time limit") and every later call "not run", and those results are recorded
before the interruption propagates, so the conversation stays well-formed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from asynccoder_tui.agent.events import Emitter, display_output
from asynccoder_tui.agent.providers.base import StopReason
from asynccoder_tui.agent.providers.messages import ToolCall, ToolResult
from asynccoder_tui.agent.race import Cancelled, race
from asynccoder_tui.agent.tools import ToolOutput, WorkspaceTools
from asynccoder_tui.domain.enums import EventKind

INTERRUPTED_NOTE = "Not run: the task was interrupted before this call could run."
CANCELLED_NOTE = "Cancelled by the user while running; its effects may be partial."
TIME_LIMIT_NOTE = "Stopped: the task reached its time limit while this call ran."
AFTER_FINISH_NOTE = "Not run: finish was called earlier in this turn."


@dataclass
class ToolBatch:
    """What a turn's calls produced."""

    results: list[ToolResult] = field(default_factory=list)
    valid: bool = False
    """True when at least one call was well-formed and allowed (not a format error)."""
    summary: str | None = None
    """The `finish` summary, when the turn called it."""
    changed_paths: list[str] = field(default_factory=list)


def result_of(call: ToolCall, output: ToolOutput) -> ToolResult:
    return ToolResult(
        call_id=call.id, name=call.name, content=output.content, is_error=output.is_error
    )


def _cut_note(max_output_tokens: int) -> str:
    return (
        f"Not run: your reply hit the output limit ({max_output_tokens} tokens) while writing "
        "this call, so its arguments are incomplete. Make smaller calls (for a large file, "
        "create a short version and extend it with edits)."
    )


async def run_tool_calls(
    calls: Sequence[ToolCall],
    *,
    tools: WorkspaceTools,
    emit: Emitter,
    cancel: asyncio.Event,
    remaining: Callable[[], float],
    stop: StopReason,
    max_output_tokens: int,
    record_interrupted: Callable[[list[ToolResult]], None],
) -> ToolBatch:
    """Run `calls` in order. On cancellation or timeout, `record_interrupted` receives a result
    for every call before `Cancelled`, `CancelledError` or `TimeoutError` propagates."""
    batch = ToolBatch()
    for index, call in enumerate(calls):
        if batch.summary is not None:
            output = ToolOutput(AFTER_FINISH_NOTE, is_error=True)
        elif call.arguments_error is not None and stop is StopReason.MAX_TOKENS:
            output = ToolOutput(_cut_note(max_output_tokens), is_error=True)
        else:
            await emit(
                EventKind.TOOL_CALL,
                id=call.id,
                name=call.name,
                arguments={
                    key: display_output(value) if isinstance(value, str) else value
                    for key, value in call.arguments.items()
                },
                **({"arguments_error": call.arguments_error} if call.arguments_error else {}),
            )
            try:
                output = await race(tools.call(call), cancel, deadline=remaining())
            except (Cancelled, asyncio.CancelledError, TimeoutError) as err:
                note = TIME_LIMIT_NOTE if isinstance(err, TimeoutError) else CANCELLED_NOTE
                record_interrupted(
                    [
                        *batch.results,
                        result_of(call, ToolOutput(note, is_error=True)),
                        *(
                            result_of(later, ToolOutput(INTERRUPTED_NOTE, is_error=True))
                            for later in calls[index + 1 :]
                        ),
                    ]
                )
                raise
            await _note_output(batch, call, output, tools, emit)
        batch.results.append(result_of(call, output))
    return batch


async def _note_output(
    batch: ToolBatch, call: ToolCall, output: ToolOutput, tools: WorkspaceTools, emit: Emitter
) -> None:
    if call.arguments_error is None and call.name in tools.allowed:
        batch.valid = True
    if output.finished:
        batch.summary = output.summary
    if output.changed_path and output.changed_path not in batch.changed_paths:
        batch.changed_paths.append(output.changed_path)
    await emit(
        EventKind.TOOL_RESULT,
        id=call.id,
        name=call.name,
        ok=not output.is_error,
        output=display_output(output.content),
        output_chars=len(output.content),
        **({"changed_path": output.changed_path} if output.changed_path else {}),
    )
