"""`TaskRunner`: one claimed task, from its workspace to its final status and bill.

For a claimed task it: makes sure the run's credits are held; prepares the workspace (worktree
on the task branch, setup script); builds the provider; runs the agent with a budget no larger
than the hold, writing its events to the transcript; then computes the diff, commits on the
task branch, writes results, settles the credits and sets the final status with any error in
words, all in one transaction that first checks this worker still holds the lease.

Any exception leaves the task in a defined state: failed in words (and refunded) or back in the
queue, never `running` with nobody working on it. If the database itself is gone, the lease
expires and the rescue loop of whichever worker survives takes the task back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.agent.loop import run_agent
from asynccoder_tui.agent.outcome import Budget, ExitStatus, Outcome
from asynccoder_tui.agent.providers import conversation_from_json, make_provider
from asynccoder_tui.config import Settings
from asynccoder_tui.db import ai_models, events, queue, repositories, results
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.bus import EventBus, Notification
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import EventKind, ProviderKind, TaskStatus
from asynccoder_tui.domain.errors import (
    AsyncCoderError,
    ConfigError,
    InsufficientCreditsError,
    WorkspaceError,
)
from asynccoder_tui.domain.models import AIModel, Task
from asynccoder_tui.engine.credits import dollars_for, hold_for_run, settle_run
from asynccoder_tui.engine.events import EventWriter
from asynccoder_tui.engine.queue import backoff_delay
from asynccoder_tui.vcs.workspace import WorkspaceManager

log = logging.getLogger(__name__)

TokenSource = Callable[[], Awaitable[str | None]]

_LIMIT_WORDS = {
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


class _Stop(Exception):
    """Ends a run early with a decided `RunEnd` (inside `TaskRunner.run`)."""

    def __init__(self, end: RunEnd) -> None:
        super().__init__(end.error or end.status.value)
        self.end = end


def scripted_model(name: str, like: AIModel | None) -> AIModel:
    """An `AIModel` for a `scripted:<plan>` name that is not in the table (priced like the demo)."""
    from uuid import NAMESPACE_URL, uuid5

    base = like.model_dump() if like is not None else {}
    base.update(
        id=uuid5(NAMESPACE_URL, name), name=name, provider=ProviderKind.SCRIPTED,
        display_name=f"Scripted {name.removeprefix('scripted:')}",
    )  # fmt: skip
    base.setdefault("display_name", name)
    return AIModel.model_validate(base)


async def resolve_model(db: Executor, name: str) -> AIModel:
    model = await ai_models.find_model(db, name)
    if model is not None:
        return model
    if name.startswith("scripted:"):
        return scripted_model(name, await ai_models.find_model(db, "scripted:demo"))
    return await ai_models.get_model(db, name)  # raises the clear "unknown model" error


class TaskRunner:
    def __init__(
        self,
        db: Executor,
        settings: Settings,
        *,
        worker_id: str,
        workspaces: WorkspaceManager,
        bus: EventBus | None = None,
        github_token: TokenSource | None = None,
        heartbeat_interval: float | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id
        self.workspaces = workspaces
        self.bus = bus
        self.github_token = github_token
        self.lease_seconds = float(settings.lease_seconds)
        self.heartbeat_interval = heartbeat_interval or max(0.5, self.lease_seconds / 3)

    # -- the run --------------------------------------------------------------------------------

    async def run(self, task: Task) -> RunEnd | None:
        """Run a claimed task to its end; None when the lease was lost (another worker has it)."""
        cancel = asyncio.Event()
        lost = asyncio.Event()
        writer = EventWriter(
            self.db,
            task_id=task.id,
            user_id=task.owner_id,
            worker_id=self.worker_id,
            provider=task.provider.value,
            model=task.model,
        )
        watchers = [
            asyncio.create_task(self._heartbeat(task, cancel, lost), name=f"lease-{task.id}"),
        ]
        if self.bus is not None:
            watchers.append(asyncio.create_task(self._watch_cancel(task, cancel)))
        execution_id = None
        outcome: Outcome | None = None
        diff: dict[str, Any] = {}
        try:
            execution_id = await results.start_execution(
                self.db,
                task_id=task.id,
                agent_kind=(task.agent_kind.value if task.agent_kind else "coder"),
                model=task.model,
                attempt=task.attempt,
                worker_id=self.worker_id,
            )
            writer.execution_id = execution_id
            await writer.write(
                EventKind.STATUS,
                {"status": "running", "detail": f"attempt {task.attempt} on {self.worker_id}"},
            )
            end, outcome, diff = await self._work(task, writer, cancel)
        except LeaseLostError:
            end = None
        except _Stop as stop:
            end = stop.end
        except asyncio.CancelledError:
            # The worker is shutting down: give the task back without using an attempt.
            await self._release(task, writer)
            raise
        except Exception as err:
            log.exception("task run failed", extra={"task": str(task.id)})
            end = RunEnd(
                TaskStatus.FAILED,
                error=f"internal error: {type(err).__name__}: {err}",
                exit_status="internal_error",
                refund=True,
            )
        finally:
            for watcher in watchers:
                watcher.cancel()
            for watcher in watchers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher
        if lost.is_set() or end is None:
            log.warning(
                "lease lost; leaving the task to its new owner", extra={"task": str(task.id)}
            )
            return None
        with contextlib.suppress(LeaseLostError):
            await writer.close()
        try:
            return await self._finish(task, end, outcome, diff, execution_id)
        except LeaseLostError:
            return None

    async def _work(
        self, task: Task, writer: EventWriter, cancel: asyncio.Event
    ) -> tuple[RunEnd, Outcome | None, dict[str, Any]]:
        rate = self.settings.credits_per_usd
        held = task.held_credits
        if held == 0 and task.estimated_credits > 0:
            await hold_for_run(
                self.db, task.owner_id, task.id, task.billing_run, task.estimated_credits
            )
            held = task.estimated_credits
        repo = await repositories.get_repository(self.db, task.repository_id)
        try:
            model = await resolve_model(self.db, task.model)
            provider = make_provider(
                model,
                anthropic_api_key=self.settings.anthropic_api_key,
                openai_api_key=self.settings.openai_api_key,
                anthropic_base_url=self.settings.anthropic_base_url,
                openai_base_url=self.settings.openai_base_url,
            )
        except (ConfigError, AsyncCoderError) as err:
            raise _Stop(
                RunEnd(TaskStatus.FAILED, error=str(err), exit_status="config_error", refund=True)
            ) from err

        await writer.write(
            EventKind.STATUS, {"status": "preparing", "detail": "preparing the workspace"}
        )
        token = await self.github_token() if self.github_token else None
        try:
            ws = await self.workspaces.prepare(
                repo, task_id=task.id, slug=task.title, base_branch=task.base_branch, token=token
            )
        except (WorkspaceError, AsyncCoderError) as err:
            raise _Stop(
                self._retry_or_fail(task, f"workspace: {err}", "workspace_error", refund=True)
            ) from err
        cmd_runner = await self.workspaces.command_runner(ws)
        await results.record_workspace(
            self.db, task_id=task.id, attempt=task.attempt, path=str(ws.path), branch=ws.branch,
            base_sha=ws.base_sha, worker_id=self.worker_id,
            sandbox_kind="bwrap" if cmd_runner.sandboxed else "none",
        )  # fmt: skip
        await writer.write(
            EventKind.STATUS,
            {
                "status": "workspace_ready",
                "detail": f"branch {ws.branch} from {ws.base_ref}",
                "sandboxed": cmd_runner.sandboxed,
            },
        )

        stored = await tasks_db.get_conversation(self.db, task.id)
        conversation = conversation_from_json(stored) if stored else None
        pending = await queue.take_pending_messages(self.db, task.id)
        if conversation:
            prompt: str | None = "\n\n".join(pending) if pending else None
        else:
            prompt = "\n\n".join([task.prompt, *pending])

        left = dollars_for(held, rate) - task.run_cost if held else self.settings.task_max_cost
        budget = Budget(
            max_steps=self.settings.task_max_steps,
            max_seconds=float(self.settings.task_max_seconds),
            max_cost=max(Decimal(0), min(self.settings.task_max_cost, left)),
        )
        secrets = [
            s.get_secret_value()
            for s in (
                self.settings.anthropic_api_key,
                self.settings.openai_api_key,
                self.settings.github_token,
            )
            if s is not None
        ]
        if token:
            secrets.append(token)
        errors: list[dict[str, Any]] = []

        async def emit(event: AgentEvent) -> None:
            if event.kind is EventKind.ERROR:
                errors.append(event.payload)
            await writer(event)

        outcome = await run_agent(
            provider,
            ws.path,
            model=model,
            prompt=prompt,
            conversation=conversation,
            mode=task.mode,
            budget=budget,
            runner=cmd_runner,
            emit=emit,
            cancel=cancel,
            secrets=secrets,
            command_timeout=float(self.settings.command_timeout),
            cache_key=str(task.id),
        )
        if writer.lost is not None:
            raise writer.lost
        diff = await self._collect_changes(task, ws, outcome, writer)
        return self._end_for(task, outcome, errors), outcome, diff

    async def _collect_changes(
        self, task: Task, ws: Any, outcome: Outcome, writer: EventWriter
    ) -> dict[str, Any]:
        info: dict[str, Any] = {"branch": ws.branch, "base": ws.base_ref, "workspace": ws}
        if task.mode.read_only:
            return info
        stats = await self.workspaces.diff_stats(ws)
        info.update(files=stats.files_changed, added=stats.added, removed=stats.removed)
        if outcome.exit_status is ExitStatus.SUBMITTED and stats.files_changed:
            message = _commit_message(task, outcome)
            commit = await self.workspaces.commit(ws, message, model_name=task.model)
            if commit is not None:
                info.update(sha=commit.sha, message=message)
                await writer.write(
                    EventKind.STATUS,
                    {
                        "status": "committed",
                        "detail": f"{commit.sha[:10]} on {ws.branch}",
                        "sha": commit.sha,
                    },
                )
        return info

    def _end_for(self, task: Task, outcome: Outcome, errors: list[dict[str, Any]]) -> RunEnd:
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
        if status in _LIMIT_WORDS:
            detail = f"{_LIMIT_WORDS[status]}" + (f" ({outcome.error})" if outcome.error else "")
            return RunEnd(
                TaskStatus.FAILED, error=detail, exit_status=status.value, summary=outcome.summary
            )
        # api_error: worth another attempt when the provider's last error was retryable.
        retryable = bool(errors and errors[-1].get("retryable"))
        message = (
            outcome.error
            or (errors[-1].get("message") if errors else None)
            or "the model API failed"
        )
        if retryable:
            return self._retry_or_fail(task, f"model API: {message}", status.value)
        return RunEnd(
            TaskStatus.FAILED,
            error=f"model API: {message}",
            exit_status=status.value,
            summary=outcome.summary,
        )

    def _retry_or_fail(
        self, task: Task, error: str, exit_status: str, *, refund: bool = False
    ) -> RunEnd:
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

    # -- finishing ------------------------------------------------------------------------------

    async def _finish(
        self,
        task: Task,
        end: RunEnd,
        outcome: Outcome | None,
        diff: dict[str, Any],
        execution_id: Any,
    ) -> RunEnd:
        rate = self.settings.credits_per_usd
        async with transaction(self.db) as conn:
            current = await queue.lock_owned(conn, task.id, self.worker_id)
            if current is None:
                raise LeaseLostError(f"task {task.id} is no longer leased to {self.worker_id}")
            if outcome is not None:
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
            if execution_id is not None:
                usage = outcome.usage if outcome is not None else None
                await results.finish_execution(
                    conn, execution_id,
                    status={TaskStatus.COMPLETED: "succeeded", TaskStatus.CANCELLED: "cancelled"}.get(end.status, "failed"),
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
            if end.retry:
                delay = backoff_delay(current.attempt)
                await queue.requeue(conn, task.id, delay_seconds=delay, error=end.error)
                detail = f"{end.error} in {delay:.0f} s"
            else:
                settled = await settle_run(
                    conn, task.id, current.billing_run, current.run_cost, rate, refund=end.refund
                )
                await queue.set_final(
                    conn, task.id, status=end.status.value, error=end.error,
                    exit_status=end.exit_status, summary=end.summary,
                )  # fmt: skip
                detail = end.error or end.summary or end.status.value
                if end.status is TaskStatus.COMPLETED:
                    await self._continue_pending(conn, current)
                await events.append_events(
                    conn, task.id,
                    [(EventKind.USAGE, {"billed_credits": settled.debited, "released_credits": settled.released,
                                        "refunded_credits": settled.refunded, "cost": str(current.run_cost),
                                        "settlement": True})],
                )  # fmt: skip
            await events.append_events(
                conn,
                task.id,
                [
                    (
                        EventKind.STATUS,
                        {"status": end.status.value, "detail": detail, "final": not end.retry},
                    )
                ],
            )
            await results.set_workspace_status(conn, task.id, "idle")
        return end

    async def _continue_pending(self, conn: Any, task: Task) -> None:
        """Follow-ups sent while the run was busy start the next run at once (new hold)."""
        if not await queue.pending_count(conn, task.id):
            return
        try:
            await hold_for_run(
                conn, task.owner_id, task.id, task.billing_run + 1, task.estimated_credits
            )
        except InsufficientCreditsError as err:
            await events.append_events(
                conn, task.id, [(EventKind.ERROR, {"message": f"follow-up not started: {err}"})]
            )
            return
        await queue.reopen(
            conn,
            task.id,
            message=None,
            estimated_credits=task.estimated_credits,
            reset_attempts=True,
        )

    async def _release(self, task: Task, writer: EventWriter) -> None:
        """Give a task back to the queue at shutdown (no attempt used, work kept)."""
        with contextlib.suppress(Exception):
            await asyncio.shield(self._do_release(task, writer))

    async def _do_release(self, task: Task, writer: EventWriter) -> None:
        with contextlib.suppress(LeaseLostError):
            await writer.close()
        async with transaction(self.db) as conn:
            if await queue.lock_owned(conn, task.id, self.worker_id) is None:
                return
            await queue.requeue(conn, task.id, delay_seconds=0, error=None, consume_attempt=False)
            await events.append_events(
                conn,
                task.id,
                [
                    (
                        EventKind.STATUS,
                        {
                            "status": "queued",
                            "detail": "worker shut down; the task was put back in the queue",
                        },
                    )
                ],
            )

    # -- watchers -------------------------------------------------------------------------------

    async def _heartbeat(self, task: Task, cancel: asyncio.Event, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                state = await queue.renew_lease(
                    self.db, task.id, self.worker_id, self.lease_seconds
                )
            except Exception as err:  # the database may be restarting: keep trying
                log.warning("lease renewal failed: %s", err, extra={"task": str(task.id)})
                continue
            if not state.held:
                lost.set()
                cancel.set()
                return
            if state.cancel_requested:
                cancel.set()

    async def _watch_cancel(self, task: Task, cancel: asyncio.Event) -> None:
        assert self.bus is not None
        sub = self.bus.subscribe(["task_cancel"])
        try:
            while True:
                note: Notification = await sub.get()
                if note.payload == str(task.id):
                    cancel.set()
                    return
        finally:
            sub.close()


def _commit_message(task: Task, outcome: Outcome) -> str:
    title = " ".join(task.title.split())[:72] or "Changes by Async Coder"
    body = (outcome.summary or "").strip()
    return f"{title}\n\n{body}\n\nTask: {task.id}" if body else f"{title}\n\nTask: {task.id}"
