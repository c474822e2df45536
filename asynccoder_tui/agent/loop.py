"""The agent loop: prompt and workspace in; edits, a transcript, a bill and an outcome out.

Each step: stop if cancelled or a limit is reached; keep the context inside the window; refuse
a call whose worst-case cost would cross the cost limit (the call's `max_tokens` is cut to what
the budget can pay for); stream one turn (retrying whole turns on retryable errors); bill it,
failed attempts included; run its tool calls in order, appending exactly one result per call id,
also when a tool fails or is cancelled. The run ends on `finish`, on a limit, on an unrecoverable
error, on cancellation, or after three format errors in a row (no tool call, arguments that are
not JSON, unknown tools, calls cut off by the output limit). Every ending is an `Outcome`.

Cancellation: set the `cancel` event (the loop stops at once, even mid-stream or mid-command,
and returns an `Outcome` with `cancelled`), or cancel the task running `AgentRun.run()` (the
`CancelledError` propagates as asyncio requires; `AgentRun.outcome` holds the outcome). Either
way the conversation is left well-formed: an interrupted turn keeps its text but not its
unfinished tool calls, and every call that was made has a result.

This module knows no database and no Textual; it talks to the world through the provider, the
workspace tools and the `emit` callback.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from asynccoder_tui.agent.context import ContextManager, ContextPolicy
from asynccoder_tui.agent.events import AgentEvent, EmitCallback, Emitter
from asynccoder_tui.agent.modes import (
    build_system_prompt,
    load_instructions,
    mode_spec,
    repository_map,
)
from asynccoder_tui.agent.outcome import Budget, ExitStatus, Outcome
from asynccoder_tui.agent.providers.base import Provider, StopReason, StreamLimits
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
    conversation_from_json,
    conversation_to_json,
    repair_conversation,
)
from asynccoder_tui.agent.race import Cancelled, race
from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.agent.toolcalls import INTERRUPTED_NOTE, run_tool_calls
from asynccoder_tui.agent.tools import WorkspaceTools
from asynccoder_tui.agent.turn import Meter, PartialTurn, TurnResult, stream_turn
from asynccoder_tui.domain.commands import CommandRunner
from asynccoder_tui.domain.enums import EventKind, TaskMode
from asynccoder_tui.domain.errors import ProviderError
from asynccoder_tui.domain.models import AIModel

log = logging.getLogger(__name__)

MAX_FORMAT_ERRORS = 3
NO_TOOL_NUDGE = (
    "No tool was called. Continue the task by calling a tool, or call finish with your summary "
    "if the task is complete."
)


class _Stop(Exception):
    def __init__(self, status: ExitStatus, reason: str, error: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.error = error


def hide_secrets(value: Any, secrets: Sequence[str]) -> Any:
    """`value` (text, or JSON-like data) with each of `secrets` replaced by `***`."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {key: hide_secrets(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [hide_secrets(item, secrets) for item in value]
    return value


class AgentRun:
    """One run of the agent over a workspace. Build it, `await run()`, read the outcome."""

    def __init__(
        self,
        provider: Provider,
        workspace: Path | str,
        *,
        model: AIModel,
        prompt: str | None = None,
        conversation: Sequence[Message] | None = None,
        mode: TaskMode | str = TaskMode.CODE,
        budget: Budget | None = None,
        runner: CommandRunner | None = None,
        emit: EmitCallback | None = None,
        cancel: asyncio.Event | None = None,
        retry: RetryPolicy | None = None,
        context_policy: ContextPolicy | None = None,
        secrets: Sequence[str] = (),
        request_timeout: float = 120.0,
        command_timeout: float = 120.0,
        cache_key: str | None = None,
        repo_map: bool = True,
        clock: Callable[[], float] = time.monotonic,
        role_prompt: str | None = None,
        allowed_tools: Sequence[str] | None = None,
    ) -> None:
        if prompt is None and not conversation:
            raise ValueError("run_agent needs a prompt, a conversation to resume, or both")
        self.provider = provider
        self.model = model
        self.spec = mode_spec(mode)
        self.budget = budget or Budget()
        self.cancel = cancel or asyncio.Event()
        self.retry = retry or RetryPolicy()
        self.role_prompt = role_prompt
        # An agent's own tool list can only narrow the mode's (a read-only mode stays read-only).
        tools = self.spec.tools
        if allowed_tools is not None:
            tools = tuple(t for t in tools if t in allowed_tools or t == "finish")
        self.tools = WorkspaceTools(
            workspace, runner, allowed=tools, command_timeout=command_timeout
        )
        self.root = self.tools.root
        self.prompt = prompt
        self.conversation: list[Message] = repair_conversation(
            list(conversation or []), note=INTERRUPTED_NOTE
        )
        provider_secrets = tuple(getattr(provider, "secrets", ()) or ())
        self.emit = Emitter(emit, secrets=tuple(secrets) + provider_secrets)
        self.meter = Meter(model, self.emit)
        self.context = ContextManager(
            model.name,
            model.context_window,
            model.max_output,
            context_policy or ContextPolicy(),
        )
        self.request_timeout = request_timeout
        self.cache_key = cache_key or hashlib.sha256(str(self.root).encode()).hexdigest()[:32]
        self.repo_map = repo_map
        self.clock = clock
        self.steps = 0
        self.started = clock()
        self.changed_paths: list[str] = []
        self.outcome: Outcome | None = None
        self._partial: PartialTurn | None = None
        self._compacted = False
        self._format_errors = 0

    # -- public -------------------------------------------------------------------------

    async def run(self) -> Outcome:
        """Run to the end and return the outcome (also kept in `self.outcome`)."""
        self.started = self.clock()
        try:
            status, reason, error = await self._run()
        except asyncio.CancelledError:
            self._close_interrupted_turn()
            self.outcome = self._outcome(ExitStatus.CANCELLED, "Cancelled by the user.", None)
            raise
        except Cancelled:
            self._close_interrupted_turn()
            status, reason, error = ExitStatus.CANCELLED, "Cancelled by the user.", None
        outcome = self._outcome(status, reason, error)
        self.outcome = outcome
        await self.emit(EventKind.STATUS, state="finished", **outcome.as_dict())
        return outcome

    # -- the loop -----------------------------------------------------------------------

    async def _run(self) -> tuple[ExitStatus, str, str | None]:
        await self.emit(
            EventKind.STATUS,
            state="started",
            mode=self.spec.mode.value,
            model=self.model.name,
            provider=self.provider.kind.value,
            read_only=self.spec.read_only,
            max_steps=self.budget.max_steps,
            max_seconds=self.budget.max_seconds,
            max_cost=None if self.budget.max_cost is None else str(self.budget.max_cost),
            resumed=bool(self.conversation),
        )
        if self.prompt is not None:
            self.conversation.append(UserMessage(text=self.prompt))
            await self.emit(EventKind.MESSAGE, role="user", text=self.prompt)
        system = await asyncio.to_thread(self._system_prompt)
        tools = self.tools.specs()
        while True:
            try:
                if self.cancel.is_set():
                    raise Cancelled
                stop = self._limit_reached()
                if stop is not None:
                    return stop
                limits = await self._prepare_call(system, tools)
                if isinstance(limits, tuple):
                    return limits
                self.steps += 1
                self.emit.step = self.steps
                await self.emit(
                    EventKind.STATUS, state="step", max_output_tokens=limits.max_output_tokens
                )
                turn = await self._call_model(system, tools, limits)
                if turn is None:
                    continue  # compacted after a context error: try the step again
                finished = await self._handle_turn(turn, limits)
                if finished is not None:
                    return finished
            except _Stop as stop_:
                if stop_.error:
                    await self.emit(EventKind.ERROR, message=stop_.error, fatal=True)
                return stop_.status, stop_.reason, stop_.error

    def _system_prompt(self) -> str:
        return build_system_prompt(
            self.spec.mode,
            instructions=load_instructions(self.root),
            repo_map=repository_map(self.root) if self.repo_map else None,
            role=self.role_prompt,
        )

    def _elapsed(self) -> float:
        return self.clock() - self.started

    def _remaining(self) -> float:
        return self.budget.max_seconds - self._elapsed()

    def _limit_reached(self) -> tuple[ExitStatus, str, None] | None:
        if self.steps >= self.budget.max_steps:
            return (
                ExitStatus.STEP_LIMIT,
                f"Step limit reached ({self.budget.max_steps} steps).",
                None,
            )
        if self._remaining() <= 0:
            return (
                ExitStatus.TIME_LIMIT,
                f"Time limit reached ({self.budget.max_seconds:g} s).",
                None,
            )
        return None

    async def _prepare_call(
        self, system: str, tools: Sequence[Any]
    ) -> StreamLimits | tuple[ExitStatus, str, str | None]:
        updated, elided, why = self.context.maintain(system, self.conversation, tools)
        if elided:
            self.conversation = updated
            await self.emit(EventKind.STATUS, state="elided", results=elided, reason=why)
        estimate = self.context.request_tokens(system, self.conversation, tools)
        if estimate > self.context.usable:
            if self._compacted:
                return (
                    ExitStatus.CONTEXT_EXCEEDED,
                    "The conversation no longer fits the model's context window.",
                    None,
                )
            await self._compact("the request would not fit the context window")
            estimate = self.context.request_tokens(system, self.conversation, tools)
            if estimate > self.context.usable:
                return (
                    ExitStatus.CONTEXT_EXCEEDED,
                    "The conversation does not fit the model's context window even compacted.",
                    None,
                )
        max_output = self.budget.output_allowance(self.meter.cost, self.model, estimate)
        floor = min(self.budget.min_output_tokens, self.model.max_output)
        if max_output < floor:
            spent = self.meter.cost
            return (
                ExitStatus.COST_LIMIT,
                f"Cost limit reached: ${spent:.4f} spent of ${self.budget.max_cost}; the next "
                "call could cross it.",
                None,
            )
        return StreamLimits(
            max_output_tokens=max_output,
            request_timeout=self.request_timeout,
            cache_key=self.cache_key,
        )

    async def _compact(self, why: str) -> None:
        self.conversation, changed = self.context.compact(self.conversation)
        self._compacted = True
        await self.emit(EventKind.STATUS, state="compacted", reason=why, results=changed)

    # -- one model call, with retries ---------------------------------------------------

    async def _call_model(
        self, system: str, tools: Sequence[Any], limits: StreamLimits
    ) -> TurnResult | None:
        """One turn, retried on retryable errors; None after a context error was compacted."""
        retries = 0
        waited = 0.0
        while True:
            partial = PartialTurn()
            self._partial = partial
            input_estimate = self.context.request_tokens(system, self.conversation, tools)
            try:
                turn = await race(
                    stream_turn(
                        self.provider,
                        system,
                        list(self.conversation),
                        tools,
                        limits,
                        emit=self.emit,
                        partial=partial,
                    ),
                    self.cancel,
                    deadline=self._remaining(),
                )
            except TimeoutError:
                await self.meter.bill_failed(partial, input_estimate)
                raise _Stop(
                    ExitStatus.TIME_LIMIT,
                    f"Time limit reached ({self.budget.max_seconds:g} s) during a model call.",
                ) from None
            except Cancelled:
                await self.meter.bill_failed(partial, input_estimate)
                raise
            except asyncio.CancelledError:
                self.meter.record_failed(partial, input_estimate)
                raise
            except ProviderError as err:
                await self.meter.bill_failed(partial, input_estimate)
                if err.context_exceeded:
                    await self._after_context_error(str(err))
                    return None
                waited += await self._wait_before_retry(err, retries, waited)
                retries += 1
                continue
            self._partial = None
            usage = turn.usage
            if usage.estimated and usage.total_input_tokens == 0:
                usage = self.meter.estimate(input_estimate, partial)
            await self.meter.bill(usage)
            return turn

    async def _wait_before_retry(self, err: ProviderError, retries: int, waited: float) -> float:
        """Announce and sleep before retrying; the delay, or `_Stop` when retrying is over."""
        delay = self.retry.delay(err, retries) if err.retryable else 0.0
        if not (
            self.retry.should_retry(err, retries, waited)
            and self.retry.fits(delay, waited)
            and delay < self._remaining()
        ):
            raise _Stop(ExitStatus.API_ERROR, f"The model provider failed: {err}", error=str(err))
        await self.emit(
            EventKind.RETRY,
            attempt=retries + 1,
            max_attempts=self.retry.max_retries,
            delay=round(delay, 3),
            reason=str(err),
            status=err.status,
            discard_partial=True,
        )
        await race(self.retry.sleep(delay), self.cancel)
        return delay

    async def _after_context_error(self, message: str) -> None:
        if self._compacted:
            raise _Stop(
                ExitStatus.CONTEXT_EXCEEDED,
                "The conversation exceeds the model's context window, even compacted.",
                error=message,
            )
        await self._compact(message)
        return None

    # -- handling a finished turn -------------------------------------------------------

    async def _handle_turn(
        self, turn: TurnResult, limits: StreamLimits
    ) -> tuple[ExitStatus, str, str | None] | None:
        stop = turn.stop_reason
        if stop is StopReason.CONTEXT_EXCEEDED:
            # The reply was cut by the window; it is dropped and the step retried compacted.
            await self._after_context_error("the model ran out of context window")
            return None
        if turn.text:
            await self.emit(EventKind.MESSAGE, role="assistant", text=turn.text)
        if stop is StopReason.REFUSAL:
            self._append_text_only(turn.text, stop.value)
            return ExitStatus.API_ERROR, "The model refused to continue this task.", "refusal"
        if stop is StopReason.PAUSE_TURN and not turn.calls:
            self._append_text_only(turn.text, stop.value)
            return None
        if not turn.calls:
            self._append_text_only(turn.text, stop.value)
            nudge = NO_TOOL_NUDGE
            if stop is StopReason.MAX_TOKENS:
                nudge = (
                    f"Your reply was cut off at the output limit ({limits.max_output_tokens} "
                    "tokens) before any tool call. Be brief and call a tool."
                )
            self.conversation.append(UserMessage(text=nudge))
            return await self._format_error("the model answered without calling a tool")
        calls = [self._without_secrets(call) for call in self._unique_ids(turn.calls)]
        self.conversation.append(
            AssistantMessage(text=turn.text, tool_calls=tuple(calls), stop_reason=stop.value)
        )
        try:
            batch = await run_tool_calls(
                calls,
                tools=self.tools,
                emit=self.emit,
                cancel=self.cancel,
                remaining=self._remaining,
                stop=stop,
                max_output_tokens=limits.max_output_tokens,
                record_interrupted=self._record_results,
            )
        except TimeoutError:
            raise _Stop(
                ExitStatus.TIME_LIMIT,
                f"Time limit reached ({self.budget.max_seconds:g} s) while a tool ran.",
            ) from None
        self._record_results(batch.results)
        for path in batch.changed_paths:
            if path not in self.changed_paths:
                self.changed_paths.append(path)
        if batch.summary is not None:
            return ExitStatus.SUBMITTED, batch.summary, None
        if not batch.valid:
            return await self._format_error("no valid tool call in the turn")
        self._format_errors = 0
        return None

    def _record_results(self, results: list[ToolResult]) -> None:
        self.conversation.append(ToolResultsMessage(results=tuple(results)))

    def _secret_values(self) -> list[str]:
        return [s for s in self.emit.secrets if s and len(s) >= 6]

    def _without_secrets(self, call: ToolCall) -> ToolCall:
        """`call` with every known secret in its arguments replaced by `***`: a model (or a
        server posing as one) cannot make the tools write the user's keys into the workspace,
        a commit or a command line."""
        cleaned = hide_secrets(call.arguments, self._secret_values())
        return call if cleaned == call.arguments else call.model_copy(update={"arguments": cleaned})

    def _unique_ids(self, calls: Sequence[ToolCall]) -> list[ToolCall]:
        """`calls` with ids that repeat earlier ones renamed (providers reject duplicates)."""
        used = {
            call.id
            for message in self.conversation
            if isinstance(message, AssistantMessage)
            for call in message.tool_calls
        }
        unique: list[ToolCall] = []
        for number, call in enumerate(calls):
            if call.id in used or not call.id:
                call = call.model_copy(update={"id": f"{call.id or 'call'}_{self.steps}_{number}"})
            used.add(call.id)
            unique.append(call)
        return unique

    def _append_text_only(self, text: str, stop: str) -> None:
        self.conversation.append(AssistantMessage(text=text, stop_reason=stop))

    async def _format_error(self, why: str) -> tuple[ExitStatus, str, str] | None:
        self._format_errors += 1
        await self.emit(
            EventKind.ERROR,
            message=f"format error {self._format_errors}/{MAX_FORMAT_ERRORS}: {why}",
            fatal=self._format_errors >= MAX_FORMAT_ERRORS,
        )
        if self._format_errors >= MAX_FORMAT_ERRORS:
            return (
                ExitStatus.FORMAT_ERROR,
                f"Stopped after {MAX_FORMAT_ERRORS} malformed replies in a row ({why}).",
                why,
            )
        return None

    # -- endings ------------------------------------------------------------------------

    def _close_interrupted_turn(self) -> None:
        """Keep the text of a turn cut short; drop its unfinished calls; answer every call."""
        partial = self._partial
        self._partial = None
        if partial is not None and partial.text.strip():
            self.conversation.append(
                AssistantMessage(text=partial.text, stop_reason="interrupted", interrupted=True)
            )
        self.conversation = repair_conversation(self.conversation, note=INTERRUPTED_NOTE)

    def _outcome(self, status: ExitStatus, reason: str, error: str | None) -> Outcome:
        summary = reason
        if status is not ExitStatus.SUBMITTED:
            last = next(
                (
                    m.text
                    for m in reversed(self.conversation)
                    if isinstance(m, AssistantMessage) and m.text.strip()
                ),
                "",
            )
            if last:
                summary = f"{reason} Last words of the agent: {last.strip()[:600]}"
        # What the outcome carries is stored (the conversation, for a follow-up) and shown:
        # no key the model or a command echoed may be in it.
        secrets = self._secret_values()
        conversation = list(self.conversation)
        if secrets:
            stored = hide_secrets(conversation_to_json(conversation), secrets)
            conversation = list(conversation_from_json(stored))
        return Outcome(
            exit_status=status,
            summary=hide_secrets(summary, secrets),
            usage=self.meter.usage,
            cost=self.meter.cost,
            steps=self.steps,
            duration=self._elapsed(),
            result_type=self.spec.result_type,
            conversation=conversation,
            changed_paths=list(self.changed_paths),
            error=hide_secrets(error, secrets),
        )


async def run_agent(
    provider: Provider,
    workspace: Path | str,
    *,
    model: AIModel,
    prompt: str | None = None,
    conversation: Sequence[Message] | None = None,
    mode: TaskMode | str = TaskMode.CODE,
    budget: Budget | None = None,
    runner: CommandRunner | None = None,
    emit: EmitCallback | None = None,
    cancel: asyncio.Event | None = None,
    retry: RetryPolicy | None = None,
    context_policy: ContextPolicy | None = None,
    secrets: Sequence[str] = (),
    request_timeout: float = 120.0,
    command_timeout: float = 120.0,
    cache_key: str | None = None,
    repo_map: bool = True,
    role_prompt: str | None = None,
    allowed_tools: Sequence[str] | None = None,
) -> Outcome:
    """Run the agent on `workspace` until it finishes or stops; see `AgentRun` for details."""
    run = AgentRun(
        provider,
        workspace,
        model=model,
        prompt=prompt,
        conversation=conversation,
        mode=mode,
        budget=budget,
        runner=runner,
        emit=emit,
        cancel=cancel,
        retry=retry,
        context_policy=context_policy,
        secrets=secrets,
        request_timeout=request_timeout,
        command_timeout=command_timeout,
        cache_key=cache_key,
        repo_map=repo_map,
        role_prompt=role_prompt,
        allowed_tools=allowed_tools,
    )
    return await run.run()


__all__ = ["AgentEvent", "AgentRun", "Budget", "ExitStatus", "Outcome", "run_agent"]
