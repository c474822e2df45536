"""How a run ends: deciding the task's next state (`RunEnd`) and closing the run in one
lease-checked transaction.

`finish_run` writes, in one transaction that first locks the task *as this run's lease owner*:
the conversation, diff stats, results, commit and branch rows; the execution's totals; then
either a retry (back to the queue with backoff, the hold kept for the next attempt) or the
settlement (debit what was used, release the rest, or refund it all when the failure was ours)
and the final status with the error in words. Follow-ups that arrived during a completed run
start the next run at once. A run that lost its lease gets `LeaseLostError` and changes nothing.

This module decides and writes; it runs no agent and touches no workspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from asynccoder_tui.agent.outcome import ExitStatus, Outcome
from asynccoder_tui.db import attempts, events, queue, repositories, results
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind, EventKind, TaskStatus
from asynccoder_tui.domain.errors import InsufficientCreditsError, ProviderError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.engine.credits import hold_for_run, settle_run
from asynccoder_tui.engine.plans import record_plan
from asynccoder_tui.engine.queue import backoff_delay
from asynccoder_tui.engine.reviews import queue_review, record_review, review_mode
from asynccoder_tui.engine.roles import role_of

LIMIT_WORDS = {
    ExitStatus.COST_LIMIT: "stopped: it reached its cost limit",
    ExitStatus.STEP_LIMIT: "stopped: it reached its step limit",
    ExitStatus.TIME_LIMIT: "stopped: it reached its time limit",
    ExitStatus.CONTEXT_EXCEEDED: "stopped: the conversation no longer fits the model's context",
    ExitStatus.FORMAT_ERROR: "stopped: the model kept sending malformed tool calls",
}


@dataclass(frozen=True)
class RunEnd:
    """What to do with the task at the end of a run."""

    status: TaskStatus
    error: str | None = None
    exit_status: str | None = None
    summary: str | None = None
    retry: bool = False
    refund: bool = False


@dataclass
class RunResult:
    """What a run produced, for `finish_run`."""

    outcome: Outcome | None = None
    diff: dict[str, Any] = field(default_factory=dict)
    execution_id: UUID | None = None
    pending_used: int = 0
    """Follow-up messages the run put into its conversation (removed from the task's queue)."""


def retry_or_fail(task: Task, error: str, exit_status: str, *, refund: bool = False) -> RunEnd:
    """Another attempt if the task has attempts left, else failed, saying how many were made."""
    if task.attempt < task.max_attempts:
        return RunEnd(
            TaskStatus.QUEUED, error=f"{error}; will retry", exit_status=exit_status, retry=True
        )
    return RunEnd(
        TaskStatus.FAILED,
        error=f"{error} (after {task.attempt} attempts)",
        exit_status=exit_status,
        refund=refund,
    )


def end_for(
    task: Task,
    outcome: Outcome,
    errors: list[dict[str, Any]],
    provider_error: ProviderError | None = None,
) -> RunEnd:
    """The task's next state for how the agent run ended. A cancelled run or one stopped by
    its budget is final; only a provider failure worth retrying goes back to the queue
    (`provider_error`: the last error the provider raised, when the run ended on one)."""
    status = outcome.exit_status
    if status is ExitStatus.SUBMITTED:
        return RunEnd(TaskStatus.COMPLETED, exit_status=status.value, summary=outcome.summary)
    if status is ExitStatus.CANCELLED:
        return RunEnd(
            TaskStatus.CANCELLED,
            error="cancelled by its owner",
            exit_status=status.value,
            summary=outcome.summary,
        )
    if status in LIMIT_WORDS:
        detail = f"{LIMIT_WORDS[status]}" + (f" ({outcome.error})" if outcome.error else "")
        return RunEnd(
            TaskStatus.FAILED, error=detail, exit_status=status.value, summary=outcome.summary
        )
    # api_error: worth another attempt when the provider's last error was retryable.
    if provider_error is not None:
        retryable = provider_error.retryable and not provider_error.context_exceeded
    else:
        retryable = bool(errors and errors[-1].get("retryable"))
    message = (
        outcome.error or (errors[-1].get("message") if errors else None) or "the model API failed"
    )
    if retryable:
        return retry_or_fail(task, f"model API: {message}", status.value)
    return RunEnd(
        TaskStatus.FAILED,
        error=f"model API: {message}",
        exit_status=status.value,
        summary=outcome.summary,
    )


async def finish_run(
    db: Executor,
    task: Task,
    lease: str,
    end: RunEnd,
    result: RunResult,
    *,
    credits_per_usd: int,
    backoff_base: float = 2.0,
) -> RunEnd:
    """Close the run (see the module docstring); `LeaseLostError` if `lease` is not the task's."""
    async with transaction(db) as conn:
        current = await queue.lock_owned(conn, task.id, lease)
        if current is None:
            raise LeaseLostError(f"task {task.id} is no longer leased to {lease}")
        if result.outcome is not None:
            await _save_results(conn, task, current, result)
        if result.execution_id is not None:
            await _close_execution(conn, end, result)
        final = not end.retry
        if end.retry:
            delay = backoff_delay(current.attempt, base=backoff_base)
            await queue.requeue(conn, task.id, delay_seconds=delay, error=end.error)
            detail = f"{end.error} in {delay:.1f} s"
        else:
            settled = await settle_run(
                conn, task.id, current.billing_run, current.run_cost, credits_per_usd,
                refund=end.refund,
            )  # fmt: skip
            await queue.set_final(
                conn, task.id, status=end.status.value, error=end.error,
                exit_status=end.exit_status, summary=end.summary,
            )  # fmt: skip
            detail = end.error or end.summary or end.status.value
            await events.append_events(
                conn, task.id,
                [(EventKind.USAGE, {"billed_credits": settled.debited, "released_credits": settled.released,
                                    "refunded_credits": settled.refunded, "cost": str(current.run_cost),
                                    "settlement": True})],
            )  # fmt: skip
        await events.append_events(
            conn,
            task.id,
            [(EventKind.STATUS, {"status": end.status.value, "detail": detail, "final": final})],
        )
        if end.status is TaskStatus.COMPLETED:
            await _after_completion(conn, current, end, result)
            await _continue_pending(conn, current)
        await results.set_workspace_status(conn, task.id, "idle")
    return end


async def _after_completion(conn: Executor, task: Task, end: RunEnd, result: RunResult) -> None:
    """A reviewer's verdict becomes a review of its parent; a coding run that committed is
    queued for review when its repository asks for reviews."""
    role = role_of(task)
    if role is AgentKind.REVIEWER and task.parent_id is not None:
        await record_review(conn, task, end.summary)
        return
    if role is AgentKind.PLANNER:
        await record_plan(conn, task, end.summary)
        return
    if task.mode.read_only or not result.diff.get("sha"):
        return
    repo = await repositories.get_repository(conn, task.repository_id)
    if review_mode(repo) != "off":
        await queue_review(conn, task, repo, result.diff)


async def _save_results(conn: Executor, task: Task, current: Task, result: RunResult) -> None:
    outcome, diff = result.outcome, result.diff
    assert outcome is not None
    await queue.set_results(
        conn,
        task.id,
        work_branch=diff.get("branch"),
        base_branch=diff.get("base"),
        commit_sha=diff.get("sha"),
        files_changed=int(diff.get("files", current.files_changed)),
        lines_added=int(diff.get("added", current.lines_added)),
        lines_removed=int(diff.get("removed", current.lines_removed)),
        conversation=outcome.conversation_json(),
    )
    test = diff.get("test")
    if isinstance(test, dict):
        await attempts.record_test(conn, task.id, test.get("exit_code"), str(test.get("output")))
    # The saved conversation holds the follow-ups this run answered.
    await queue.consume_pending(conn, task.id, result.pending_used)
    await results.add_result(
        conn, task.id, outcome.result_type.value,
        {"summary": outcome.summary, "exit_status": outcome.exit_status.value,
         "files_changed": diff.get("files", 0), "lines_added": diff.get("added", 0),
         "lines_removed": diff.get("removed", 0), "commit": diff.get("sha"),
         "changed_paths": outcome.changed_paths[:500]},
    )  # fmt: skip
    if diff.get("sha"):
        await results.record_commit(
            conn, repository_id=task.repository_id, task_id=task.id, sha=diff["sha"],
            branch=diff["branch"], message=diff["message"],
            files_changed=int(diff.get("files", 0)), lines_added=int(diff.get("added", 0)),
            lines_removed=int(diff.get("removed", 0)),
        )  # fmt: skip
    if diff.get("branch"):
        await results.upsert_branch(
            conn, repository_id=task.repository_id, task_id=task.id,
            name=diff["branch"], base_branch=diff.get("base"), head_sha=diff.get("sha"),
        )  # fmt: skip


async def _close_execution(conn: Executor, end: RunEnd, result: RunResult) -> None:
    outcome, diff = result.outcome, result.diff
    assert result.execution_id is not None
    usage = outcome.usage if outcome is not None else None
    status = {TaskStatus.COMPLETED: "succeeded", TaskStatus.CANCELLED: "cancelled"}
    await results.finish_execution(
        conn, result.execution_id,
        status=status.get(end.status, "failed"),
        exit_status=end.exit_status,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cache_read_tokens=usage.cache_read_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        cost=outcome.cost if outcome is not None else Decimal(0),
        steps=outcome.steps if outcome is not None else 0,
        files_changed=int(diff.get("files", 0)), lines_added=int(diff.get("added", 0)),
        lines_removed=int(diff.get("removed", 0)), error=end.error,
    )  # fmt: skip


async def _continue_pending(conn: Executor, task: Task) -> None:
    """Follow-ups sent while the run was busy start the next run at once (a new hold)."""
    if not await queue.pending_count(conn, task.id):
        return
    try:
        # Queued first, then held: a hold is only allowed on a queued or running task.
        async with transaction(conn) as savepoint:
            await queue.reopen(
                savepoint,
                task.id,
                message=None,
                estimated_credits=task.estimated_credits,
                reset_attempts=True,
            )
            await hold_for_run(
                savepoint, task.owner_id, task.id, task.billing_run + 1, task.estimated_credits
            )
    except InsufficientCreditsError as err:
        await events.append_events(
            conn, task.id, [(EventKind.ERROR, {"message": f"follow-up not started: {err}"})]
        )
        return
    await events.append_events(
        conn,
        task.id,
        [(EventKind.STATUS, {"status": "queued", "detail": "follow-up queued for the next run"})],
    )
