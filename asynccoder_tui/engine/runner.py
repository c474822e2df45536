"""`TaskRunner`: one claimed task, from its workspace to its final status and bill.

For a claimed task it: makes sure the run's credits are held; prepares the workspace (worktree
on the task branch, setup script); builds the provider; runs the agent with a budget no larger
than the hold, writing its events to the transcript; then computes the diff, commits on the
task branch, writes results, settles the credits and sets the final status with any error in
words, all in one transaction that first checks this run still holds the lease.

The lease is the claim's own token (`task.lease_owner` as claimed): every write of the run is
checked against it, so once the task has been rescued or taken by another claim (even one of
this same worker) the old run can neither write, complete nor bill it.

Any exception leaves the task in a defined state: failed in words (and refunded) or back in the
queue, never `running` with nobody working on it. While the database is unreachable (a restart)
the run's writes wait and retry; if it stays away too long the run gives up and the lease
expires, and the rescue loop of whichever worker survives takes the task back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.agent.loop import run_agent
from asynccoder_tui.agent.outcome import Budget, ExitStatus, Outcome
from asynccoder_tui.agent.providers import conversation_from_json, make_provider
from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.config import Settings
from asynccoder_tui.db import ai_models, events, queue, repositories, results
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.bus import RESYNC, STATE, EventBus
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import EventKind, ProviderKind, TaskStatus
from asynccoder_tui.domain.errors import (
    AsyncCoderError,
    ConfigError,
    GitError,
    WorkspaceError,
)
from asynccoder_tui.domain.models import AIModel, Task
from asynccoder_tui.engine.credits import dollars_for, hold_for_run
from asynccoder_tui.engine.events import EventWriter, retry_transient
from asynccoder_tui.engine.finish import RunEnd, RunResult, end_for, finish_run, retry_or_fail
from asynccoder_tui.engine.plans import after_child
from asynccoder_tui.engine.provider import WatchedProvider
from asynccoder_tui.engine.reviews import review_mode
from asynccoder_tui.engine.roles import agent_for, role_of
from asynccoder_tui.vcs.workspace import WorkspaceManager

log = logging.getLogger(__name__)

TokenSource = Callable[[], Awaitable[str | None]]
T = TypeVar("T")


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
    """Runs claimed tasks; one instance serves every run of a `WorkerPool`."""

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
        retry_policy: RetryPolicy | None = None,
        backoff_base: float = 2.0,
        cancel_poll_interval: float = 1.0,
        db_retry_for: float | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker_id = worker_id
        self.workspaces = workspaces
        self.bus = bus
        self.github_token = github_token
        self.lease_seconds = float(settings.lease_seconds)
        self.heartbeat_interval = heartbeat_interval or max(0.5, self.lease_seconds / 3)
        self.retry_policy = retry_policy
        """The agent's own retries of a failed model call (None: the agent's defaults)."""
        self.backoff_base = backoff_base
        """Base of the queue's backoff between attempts (seconds, doubled each attempt)."""
        self.cancel_poll_interval = cancel_poll_interval
        """How often the cancel flag is read while no live notification connection is up."""
        self.db_retry_for = db_retry_for or max(30.0, 2 * self.lease_seconds)
        """How long a write waits for an unreachable database before the run gives up."""

    async def _db(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        return await retry_transient(operation, retry_for=self.db_retry_for, what=what)

    # -- the run --------------------------------------------------------------------------------

    async def run(self, task: Task) -> RunEnd | None:
        """Run a claimed task to its end; None when the run lost its lease (the task is another
        run's now) or gave up on an unreachable database (the rescue loop will take it back)."""
        lease = task.lease_owner or self.worker_id
        cancel = asyncio.Event()
        lost = asyncio.Event()
        writer = EventWriter(
            self.db,
            task_id=task.id,
            user_id=task.owner_id,
            lease_owner=lease,
            provider=task.provider.value,
            model=task.model,
            retry_for=self.db_retry_for,
        )
        watchers = [
            asyncio.create_task(
                self._heartbeat(task, lease, cancel, lost), name=f"lease-{task.id}"
            ),
            asyncio.create_task(self._watch_cancel(task, cancel), name=f"cancel-{task.id}"),
        ]
        result = RunResult()
        end: RunEnd | None
        why_none = "lease lost"
        try:
            result.execution_id = await self._db(
                lambda: results.start_execution(
                    self.db,
                    task_id=task.id,
                    agent_kind=role_of(task).value,
                    model=task.model,
                    attempt=task.attempt,
                    worker_id=lease,
                ),
                "starting the execution",
            )
            writer.execution_id = result.execution_id
            await writer.write(
                EventKind.STATUS,
                {
                    "status": "running",
                    "detail": f"attempt {task.attempt} on {queue.lease_worker(lease)}",
                },
            )
            end = await self._work(task, writer, cancel, result)
        except LeaseLostError:
            end = None
        except _Stop as stop:
            end = stop.end
        except asyncio.CancelledError:
            # The worker is shutting down: give the task back without using an attempt.
            await self._release(task, lease, writer)
            raise
        except Exception as err:
            if queue.is_transient(err) and not await self._database_answers():
                log.warning(
                    "database unreachable; leaving the task to be rescued: %s",
                    err,
                    extra={"task": str(task.id)},
                )
                end, why_none = None, "database unreachable"
            elif isinstance(err, OSError):
                # The database answers, so this is the machine (disk full, read-only, denied):
                # say so in words; the user's model usage is real and stays billed.
                log.warning("task run failed: %s", err, extra={"task": str(task.id)})
                end = RunEnd(
                    TaskStatus.FAILED,
                    error=f"the run failed on this machine: {describe_os_error(err)}",
                    exit_status="os_error",
                )
            else:
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
        if lost.is_set() or writer.lost is not None or end is None:
            await self._abandon(task, lease, result, why_none)
            return None
        try:
            with contextlib.suppress(LeaseLostError):
                await writer.close()
            ended = await self._db(
                lambda: finish_run(
                    self.db, task, lease, end, result,
                    credits_per_usd=self.settings.credits_per_usd,
                    backoff_base=self.backoff_base,
                ),
                "finishing the run",
            )  # fmt: skip
            if task.parent_id is not None and not ended.retry:
                await self._after_child(task, ended)
            return ended
        except LeaseLostError:
            await self._abandon(task, lease, result, "lease lost")
            return None
        except Exception as err:
            if not queue.is_transient(err):
                raise
            await self._abandon(task, lease, result, "database unreachable")
            return None

    async def _after_child(self, task: Task, end: RunEnd) -> None:
        """A plan's child ended: merge it into the parent (or stop the plan); never fails the
        run that already finished."""
        try:
            token = await self.github_token() if self.github_token else None
            await after_child(self.db, self.workspaces, task, end.status, token)
        except Exception:
            log.exception("merging a subtask failed", extra={"task": str(task.id)})

    async def _abandon(self, task: Task, lease: str, result: RunResult, why: str) -> None:
        """Leave the task to whoever holds (or will hold) it now; close our execution record."""
        log.warning("run abandoned (%s); leaving the task to its next owner", why,
                    extra={"task": str(task.id)})  # fmt: skip
        if result.execution_id is not None:
            with contextlib.suppress(Exception):
                await queue.close_abandoned_executions(
                    self.db, task.id, lease, f"run abandoned: {why}"
                )

    async def _work(
        self, task: Task, writer: EventWriter, cancel: asyncio.Event, result: RunResult
    ) -> RunEnd:
        held = task.held_credits
        if held == 0 and task.estimated_credits > 0:
            await self._db(
                lambda: hold_for_run(
                    self.db, task.owner_id, task.id, task.billing_run, task.estimated_credits
                ),
                "holding credits",
            )
            held = task.estimated_credits
        repo = await self._db(
            lambda: repositories.get_repository(self.db, task.repository_id), "reading the task"
        )
        try:
            model = await resolve_model(self.db, task.model)
            provider = WatchedProvider(
                make_provider(
                    model,
                    anthropic_api_key=self.settings.anthropic_api_key,
                    openai_api_key=self.settings.openai_api_key,
                    anthropic_base_url=self.settings.anthropic_base_url,
                    openai_base_url=self.settings.openai_base_url,
                )
            )
        except (ConfigError, AsyncCoderError) as err:
            raise _Stop(
                RunEnd(TaskStatus.FAILED, error=str(err), exit_status="config_error", refund=True)
            ) from err
        try:
            return await self._work_in_workspace(
                task, writer, cancel, result, repo, model, provider, held
            )
        finally:
            with contextlib.suppress(Exception):
                await provider.aclose()

    async def _work_in_workspace(
        self, task: Task, writer: EventWriter, cancel: asyncio.Event, result: RunResult,
        repo: Any, model: AIModel, provider: WatchedProvider, held: int,
    ) -> RunEnd:  # fmt: skip
        rate = self.settings.credits_per_usd
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
                retry_or_fail(task, f"workspace: {err}", "workspace_error", refund=True)
            ) from err
        cmd_runner = await self.workspaces.command_runner(ws)
        await self._db(
            lambda: results.record_workspace(
                self.db, task_id=task.id, attempt=task.attempt, path=str(ws.path),
                branch=ws.branch, base_sha=ws.base_sha, worker_id=self.worker_id,
                sandbox_kind="bwrap" if cmd_runner.sandboxed else "none",
            ),
            "recording the workspace",
        )  # fmt: skip
        await writer.write(
            EventKind.STATUS,
            {
                "status": "workspace_ready",
                "detail": f"branch {ws.branch} from {ws.base_ref}",
                "sandboxed": cmd_runner.sandboxed,
            },
        )

        stored = await self._db(
            lambda: tasks_db.get_conversation(self.db, task.id), "reading the conversation"
        )
        conversation = conversation_from_json(stored) if stored else None
        pending = await self._db(
            lambda: queue.pending_messages(self.db, task.id), "reading follow-ups"
        )
        result.pending_used = len(pending)
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

        outcome = await self._run_agent(
            task, ws, model, provider, prompt, conversation, budget, cmd_runner, emit,
            cancel, secrets,
        )  # fmt: skip
        if writer.lost is not None:
            raise writer.lost
        result.outcome = outcome
        try:
            result.diff = await self._collect_changes(
                task, ws, outcome, writer, with_patch=review_mode(repo) != "off"
            )
        except (GitError, WorkspaceError, OSError) as err:
            what = describe_os_error(err) if isinstance(err, OSError) else str(err)
            raise _Stop(
                RunEnd(
                    TaskStatus.FAILED,
                    error=f"the agent finished but its changes could not be committed: {what}",
                    exit_status="commit_failed",
                    summary=outcome.summary,
                )
            ) from err
        # After the commit, so nothing the tests write ends up in it.
        test = await self._run_tests(task, ws, repo, outcome, cmd_runner, writer)
        if test is not None:
            result.diff["test"] = test
        return end_for(task, outcome, errors, provider.last_error)

    async def _run_agent(
        self, task: Task, ws: Any, model: AIModel, provider: WatchedProvider,
        prompt: str | None, conversation: Any, budget: Budget, cmd_runner: Any,
        emit: Callable[[AgentEvent], Awaitable[None]], cancel: asyncio.Event, secrets: list[str],
    ) -> Outcome:  # fmt: skip
        agent = await self._db(lambda: agent_for(self.db, task), "reading the agent")
        return await run_agent(
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
            retry=self.retry_policy,
            secrets=secrets,
            command_timeout=float(self.settings.command_timeout),
            cache_key=str(task.id),
            role_prompt=agent.system_prompt if agent else None,
            allowed_tools=agent.allowed_tools if agent else None,
        )

    async def _run_tests(
        self, task: Task, ws: Any, repo: Any, outcome: Outcome, cmd_runner: Any,
        writer: EventWriter,
    ) -> dict[str, Any] | None:  # fmt: skip
        """Run the repository's `test_command` (settings) in the sandbox after a coding run
        that finished, and say how it went in the transcript."""
        command = repo.settings.get("test_command")
        if task.mode.read_only or outcome.exit_status is not ExitStatus.SUBMITTED:
            return None
        if not isinstance(command, str) or not command.strip():
            return None
        ran = await cmd_runner.run(
            command, cwd=ws.path, timeout=float(self.settings.command_timeout)
        )
        passed = ran.exit_code == 0
        await writer.write(
            EventKind.STATUS,
            {"status": "tests_passed" if passed else "tests_failed",
             "detail": f"{command}: exit {ran.exit_code}" + (" (timed out)" if ran.timed_out else ""),
             "exit_code": ran.exit_code},
        )  # fmt: skip
        return {"exit_code": ran.exit_code, "output": ran.output}

    async def _collect_changes(
        self, task: Task, ws: Any, outcome: Outcome, writer: EventWriter, *, with_patch: bool
    ) -> dict[str, Any]:
        # The base is stored as the branch name (a follow-up prepares its workspace from it).
        info: dict[str, Any] = {"branch": ws.branch, "base": ws.base_branch, "workspace": ws}
        if task.mode.read_only:
            return info
        stats = await self.workspaces.diff_stats(ws)
        info.update(files=stats.files_changed, added=stats.added, removed=stats.removed)
        if outcome.exit_status is ExitStatus.SUBMITTED and stats.files_changed:
            message = _commit_message(task, outcome)
            commit = await self.workspaces.commit(ws, message, model_name=task.model)
            if commit is not None:
                info.update(sha=commit.sha, message=message)
                if with_patch:  # for the reviewer's prompt
                    info["patch"] = await self.workspaces.full_diff_text(ws)
                await writer.write(
                    EventKind.STATUS,
                    {
                        "status": "committed",
                        "detail": f"{commit.sha[:10]} on {ws.branch}",
                        "sha": commit.sha,
                    },
                )
        return info

    async def _database_answers(self) -> bool:
        """Whether the database answers now (tells its outage from an OS error of the run)."""
        try:
            await asyncio.wait_for(queue.ping(self.db), timeout=3)
        except Exception:
            return False
        return True

    # -- giving a task back ---------------------------------------------------------------------

    async def _release(self, task: Task, lease: str, writer: EventWriter) -> None:
        """Give a task back to the queue at shutdown (no attempt used, work kept)."""
        try:
            await asyncio.shield(self._do_release(task, lease, writer))
        except Exception as err:
            log.warning("giving the task back failed (its lease will expire): %s", err,
                        extra={"task": str(task.id)})  # fmt: skip

    async def _do_release(self, task: Task, lease: str, writer: EventWriter) -> None:
        with contextlib.suppress(LeaseLostError):
            await writer.close()
        async with transaction(self.db) as conn:
            if await queue.lock_owned(conn, task.id, lease) is None:
                return
            await queue.close_abandoned_executions(
                conn, task.id, lease, "the worker shut down; the task went back to the queue"
            )
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

    async def _heartbeat(
        self, task: Task, lease: str, cancel: asyncio.Event, lost: asyncio.Event
    ) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                state = await queue.renew_lease(self.db, task.id, lease, self.lease_seconds)
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
        """Set `cancel` within about a second of the owner asking: on the `task_cancel`
        notification, or by reading the flag after a reconnect (a notification sent while the
        bus was away is lost) and once a second while there is no live bus."""
        sub = self.bus.subscribe(["task_cancel"]) if self.bus is not None else None
        key = str(task.id)

        async def flag_set() -> bool:
            try:
                return await queue.cancel_requested(self.db, task.id)
            except Exception as err:
                log.warning("reading the cancel flag failed: %s", err)
                return False

        try:
            if await flag_set():  # asked before this run subscribed
                cancel.set()
                return
            while True:
                live = sub is not None and self.bus is not None and self.bus.connected
                if sub is None:
                    await asyncio.sleep(self.cancel_poll_interval)
                    note = None
                else:
                    try:
                        note = await asyncio.wait_for(
                            sub.get(), timeout=None if live else self.cancel_poll_interval
                        )
                    except TimeoutError:
                        note = None
                if note is not None and note.channel == "task_cancel":
                    if note.payload == key:
                        cancel.set()
                        return
                    continue
                if note is None or note.channel in (RESYNC, STATE):
                    if await flag_set():
                        cancel.set()
                        return
        finally:
            if sub is not None:
                sub.close()


def describe_os_error(err: OSError) -> str:
    """An OS error in words: what failed and where, without a traceback."""
    what = err.strerror or type(err).__name__
    where = f" ({err.filename})" if err.filename else ""
    return f"{what}{where}"


def _commit_message(task: Task, outcome: Outcome) -> str:
    title = " ".join(task.title.split())[:72] or "Changes by Async Coder"
    body = (outcome.summary or "").strip()
    return f"{title}\n\n{body}\n\nTask: {task.id}" if body else f"{title}\n\nTask: {task.id}"
