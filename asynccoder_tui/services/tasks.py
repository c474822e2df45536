"""Task use cases: estimate, submit, list, show, cancel, follow up, retry, transcript.

Every refusal is an `AsyncCoderError` saying which rule refused and, for limits, when it frees
up. A submission is one transaction: the task row, its credit hold, the prompt as the first
transcript event and an audit row, or none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from asynccoder_tui.agent.modes import mode_prefix_tokens
from asynccoder_tui.agent.tokens import TaskCostEstimate, estimate_task_cost
from asynccoder_tui.db import audit, events, queue, repositories, results, users
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import (
    EventKind,
    Priority,
    ProviderKind,
    RepoStatus,
    TaskMode,
    TaskStatus,
)
from asynccoder_tui.domain.errors import (
    ConfigError,
    ConflictError,
    InputError,
    LimitExceededError,
    NotFoundError,
)
from asynccoder_tui.domain.models import AIModel, Repository, Task, TaskEvent
from asynccoder_tui.engine.credits import (
    check_monthly_limits,
    credits_for,
    hold_for_run,
    plan_hold,
    settle_run,
)
from asynccoder_tui.engine.roles import default_model_for
from asynccoder_tui.engine.runner import resolve_model
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.refs import validate_branch_name

MAX_PROMPT_CHARS = 1_000_000


@dataclass(frozen=True)
class SubmitRequest:
    repository: str
    prompt: str
    mode: TaskMode = TaskMode.CODE
    model: str | None = None
    base_branch: str | None = None
    priority: Priority = Priority.MEDIUM
    title: str | None = None
    max_attempts: int = 3


@dataclass(frozen=True)
class Estimate:
    model: AIModel
    cost: TaskCostEstimate
    expected_credits: int
    hold_credits: int
    balance: int

    @property
    def affordable(self) -> bool:
        return self.balance >= self.expected_credits


def clean_prompt(prompt: str) -> str:
    """The prompt as stored, or an `InputError` saying what is wrong with it."""
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "the prompt is not valid UTF-8 text (it holds a lone surrogate)",
            hint="paste it again from a UTF-8 source",
        ) from None
    if "\x00" in prompt:
        raise InputError("the prompt contains NUL bytes", hint="remove them and try again")
    text = prompt.strip()
    if not text:
        raise InputError("the prompt is empty", hint="say what the agent should do")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(
            f"the prompt is {len(text):,} characters; the limit is {MAX_PROMPT_CHARS:,}",
            hint="put long material in a file in the repository and refer to it",
        )
    return text


def title_from(prompt: str, limit: int = 80) -> str:
    first = next((line.strip() for line in prompt.splitlines() if line.strip()), prompt.strip())
    printable = "".join(c if c.isprintable() else " " for c in first)
    return printable[:limit].rstrip() or "Untitled task"


async def _model(ctx: AppContext, name: str | None, mode: TaskMode = TaskMode.CODE) -> AIModel:
    """The model a task runs on: the one asked for, else the default model of the agent its
    mode runs as (the planner's for a plan...), else the `default_model` setting."""
    if not name:  # not given (a name of blanks is refused below)
        name = await default_model_for(ctx.db.pool, mode) or ctx.settings.default_model
    name = name.strip()
    if not name or len(name) > 200 or any(not c.isprintable() for c in name):
        raise InputError(f"invalid model name {name[:40]!r}")
    model = await resolve_model(ctx.db.pool, name)
    if not model.active:
        raise InputError(
            f"model {name} is switched off", hint="turn it on in settings or pick another"
        )
    needed = {
        ProviderKind.ANTHROPIC: ("ANTHROPIC_API_KEY", ctx.settings.anthropic_api_key),
        ProviderKind.OPENAI: ("OPENAI_API_KEY", ctx.settings.openai_api_key),
    }.get(model.provider)
    if needed is not None and needed[1] is None:
        raise ConfigError(
            f"model {name} needs {needed[0]}, which is not set",
            hint=f"set {needed[0]} or add the key in settings; `scripted:demo` runs offline",
        )
    return model


async def _repository(ctx: AppContext, ref: str) -> Repository:
    repo = await repositories.find_repository(ctx.db.pool, ctx.user.id, ref.strip())
    if repo is None:
        raise NotFoundError(
            f"repository {ref!r} not found", hint="`asynccoder repo list` shows them"
        )
    if repo.status is not RepoStatus.ACTIVE:
        raise ConflictError(f"repository {repo.display_name} is archived", hint="restore it first")
    return repo


async def estimate(
    ctx: AppContext, prompt: str, *, model: str | None = None, mode: TaskMode = TaskMode.CODE
) -> Estimate:
    """What a task would cost and hold, for the new-task form (and before every submission)."""
    chosen = await _model(ctx, model, mode)
    cost = estimate_task_cost(
        prompt or " ", chosen, mode=mode.value, max_steps=ctx.settings.task_max_steps
    )
    user = await ctx.refresh_user()
    rate = ctx.settings.credits_per_usd
    expected = max(1, credits_for(cost.expected, rate))
    hold = min(max(expected, credits_for(ctx.settings.task_max_cost, rate)), user.credits)
    return Estimate(chosen, cost, expected, hold, user.credits)


async def _check_rate(ctx: AppContext, db: Executor | None = None) -> None:
    """Refuse a submission past `max_submissions_per_minute`, saying when a slot frees up.
    Inside the submitting transaction (after `queue.lock_submissions`) the check is exact."""
    db = db or ctx.db.pool
    window = 60.0
    recent = await queue.recent_submissions(db, ctx.user.id, window)
    limit = ctx.settings.max_submissions_per_minute
    if len(recent) >= limit:
        now = await queue.now(db)
        frees = recent[len(recent) - limit] + timedelta(seconds=window)
        wait = max(1.0, (frees - now).total_seconds())
        raise LimitExceededError(
            f"submission rate limit: {limit} tasks a minute; the next slot frees in {wait:.0f} s",
            limit="max_submissions_per_minute",
            retry_after=wait,
        )


async def _check_month(ctx: AppContext, est: Estimate, mode: TaskMode) -> None:
    """Refuse a run that would pass the user's monthly token or cost limit. Every step of a
    run sends at least the system prompt, the tool schemas and the prompt: that many tokens
    times the expected steps is the run's expected token use (a floor, not a worst case)."""
    per_step = mode_prefix_tokens(mode, est.model.name) + est.cost.prompt_tokens
    await check_monthly_limits(
        ctx.db.pool, ctx.user, tokens=per_step * est.cost.expected_steps, cost=est.cost.expected
    )


async def submit(ctx: AppContext, request: SubmitRequest) -> Task:
    prompt = clean_prompt(request.prompt)
    repo = await _repository(ctx, request.repository)
    base = validate_branch_name(request.base_branch) if request.base_branch else None
    await _check_rate(ctx)
    est = await estimate(ctx, prompt, model=request.model, mode=request.mode)
    await _check_month(ctx, est, request.mode)
    plan = plan_hold(
        balance=est.balance, expected_cost=est.cost.expected, max_cost=ctx.settings.task_max_cost,
        rate=ctx.settings.credits_per_usd,
    )  # fmt: skip
    title = title_from(request.title or prompt)
    async with transaction(ctx.db.pool) as conn:
        # Concurrent submissions of one user queue here, so none slips past the rate limit.
        await queue.lock_submissions(conn, ctx.user.id)
        await _check_rate(ctx, conn)
        task = await tasks_db.insert_task(
            conn,
            tasks_db.NewTask(
                owner_id=ctx.user.id, repository_id=repo.id, model=est.model.name,
                provider=est.model.provider, title=title, prompt=prompt, mode=request.mode,
                priority=request.priority, base_branch=base,
                max_attempts=max(1, min(request.max_attempts, 20)),
                estimated_credits=plan.credits,
            ),
        )  # fmt: skip
        await hold_for_run(conn, ctx.user.id, task.id, 1, plan.credits)
        await events.append_events(
            conn,
            task.id,
            [
                (EventKind.MESSAGE, {"role": "user", "text": prompt}),
                (EventKind.STATUS, {"status": "queued", "detail": f"{plan.credits} credits held"}),
            ],
        )
        await audit.record(
            conn, user_id=ctx.user.id, action="task.submitted", resource_type="task",
            resource_id=str(task.id),
            details={"repository": repo.display_name, "model": est.model.name, "mode": request.mode.value,
                     "held_credits": plan.credits},
        )  # fmt: skip
    return await tasks_db.get_task(ctx.db.pool, task.id)


async def list_tasks(
    ctx: AppContext,
    *,
    filters: tasks_db.TaskFilter | None = None,
    after: tasks_db.TaskPageCursor | None = None,
    limit: int = 100,
) -> list[Task]:
    return await tasks_db.list_tasks(
        ctx.db.pool, ctx.user.id, filters=filters, after=after, limit=limit
    )


async def get_task(ctx: AppContext, ref: str | UUID) -> Task:
    if isinstance(ref, UUID):
        task = await tasks_db.get_task(ctx.db.pool, ref)
        if task.owner_id != ctx.user.id:
            raise NotFoundError(f"task {ref} not found")
        return task
    return await tasks_db.find_task(ctx.db.pool, ctx.user.id, ref)


async def transcript(
    ctx: AppContext, task_id: UUID, *, after_seq: int = 0, limit: int = 10_000
) -> list[TaskEvent]:
    await get_task(ctx, task_id)
    return await events.list_events(ctx.db.pool, task_id, after_seq=after_seq, limit=limit)


async def task_results(ctx: AppContext, task_id: UUID) -> list[dict[str, object]]:
    await get_task(ctx, task_id)
    return await results.list_results(ctx.db.pool, task_id)


def _ended(status: TaskStatus) -> str:
    return {TaskStatus.CANCELLED: "been cancelled"}.get(status, status.value)


async def cancel(ctx: AppContext, ref: str | UUID) -> Task:
    """Cancel a queued task at once; ask a running one to stop (its worker settles it)."""
    task = await get_task(ctx, ref)
    async with transaction(ctx.db.pool) as conn:
        current = await queue.lock_task(conn, task.id)
        assert current is not None
        if current.status is TaskStatus.QUEUED:
            await settle_run(
                conn,
                current.id,
                current.billing_run,
                current.run_cost,
                ctx.settings.credits_per_usd,
            )
            await queue.set_final(
                conn, current.id, status=TaskStatus.CANCELLED.value, error="cancelled by its owner",
                exit_status="cancelled", summary=None,
            )  # fmt: skip
            await events.append_events(
                conn,
                current.id,
                [
                    (
                        EventKind.STATUS,
                        {"status": "cancelled", "detail": "cancelled before it ran", "final": True},
                    )
                ],
            )
        elif current.status is TaskStatus.RUNNING:
            await queue.request_cancel(conn, current.id)
            await events.append_events(
                conn,
                current.id,
                [(EventKind.STATUS, {"status": "cancelling", "detail": "cancel requested"})],
            )
        else:
            raise ConflictError(f"task {str(task.id)[:8]} has already {_ended(current.status)}")
        await audit.record(
            conn,
            user_id=ctx.user.id,
            action="task.cancelled",
            resource_type="task",
            resource_id=str(task.id),
        )
    return await tasks_db.get_task(ctx.db.pool, task.id)


async def _plan_rerun(ctx: AppContext, task: Task, message: str | None) -> int:
    """Credits to hold for another run of `task`; refuses past the balance or a monthly limit."""
    est = await estimate(ctx, message or task.prompt, model=task.model, mode=task.mode)
    await _check_month(ctx, est, task.mode)
    plan = plan_hold(
        balance=est.balance, expected_cost=est.cost.expected, max_cost=ctx.settings.task_max_cost,
        rate=ctx.settings.credits_per_usd,
    )  # fmt: skip
    return plan.credits


async def _reopen_locked(
    ctx: AppContext, conn: Executor, current: Task, message: str | None, credits: int, action: str
) -> None:
    """Queue a finished task again as a new billing run (the caller holds the row lock)."""
    await queue.reopen(
        conn, current.id, message=message, estimated_credits=credits, reset_attempts=True
    )
    await hold_for_run(conn, ctx.user.id, current.id, current.billing_run + 1, credits)
    rows = [(EventKind.MESSAGE, {"role": "user", "text": message})] if message else []
    rows.append(
        (EventKind.STATUS, {"status": "queued", "detail": f"{action}: {credits} credits held"})
    )
    await events.append_events(conn, current.id, rows)


async def _audit(ctx: AppContext, conn: Executor, task_id: UUID, action: str) -> None:
    await audit.record(
        conn, user_id=ctx.user.id, action=f"task.{action}", resource_type="task",
        resource_id=str(task_id),
    )  # fmt: skip


async def follow_up(ctx: AppContext, ref: str | UUID, message: str) -> Task:
    """Continue the task's conversation on the same branch with `message`.

    A finished task is queued again at once; a queued or running one keeps the message for its
    next turn (a running task picks it up as soon as the current run completes). The decision
    is made under the task's row lock, the lock the worker takes to finish a run, so a message
    never lands on a run that has just ended without starting the next."""
    text = clean_prompt(message)
    task = await get_task(ctx, ref)
    while True:
        credits = await _plan_rerun(ctx, task, text) if task.status.is_final else None
        async with transaction(ctx.db.pool) as conn:
            current = await queue.lock_task(conn, task.id)
            assert current is not None
            if not current.status.is_final:
                await _add_pending(ctx, conn, current, text)
                break
            if credits is not None:
                await _reopen_locked(ctx, conn, current, text, credits, "follow_up")
                await _audit(ctx, conn, task.id, "follow_up")
                break
        task = current  # it finished since we looked: plan a new run and try again
    return await tasks_db.get_task(ctx.db.pool, task.id)


async def _add_pending(ctx: AppContext, conn: Executor, current: Task, text: str) -> None:
    await queue.add_pending_message(conn, current.id, text)
    await events.append_events(
        conn,
        current.id,
        [
            (EventKind.MESSAGE, {"role": "user", "text": text}),
            (
                EventKind.STATUS,
                {"status": current.status.value, "detail": "follow-up queued for the next turn"},
            ),
        ],
    )
    await _audit(ctx, conn, current.id, "follow_up")


async def _reopen(ctx: AppContext, task: Task, message: str | None, *, action: str) -> Task:
    credits = await _plan_rerun(ctx, task, message)
    async with transaction(ctx.db.pool) as conn:
        current = await queue.lock_task(conn, task.id)
        assert current is not None
        if not current.status.is_final:
            raise ConflictError(f"task {str(task.id)[:8]} is {current.status.value}")
        await _reopen_locked(ctx, conn, current, message, credits, action)
        await _audit(ctx, conn, task.id, action)
    return await tasks_db.get_task(ctx.db.pool, task.id)


async def retry(ctx: AppContext, ref: str | UUID) -> Task:
    """Run a failed or cancelled task again, resuming its conversation."""
    task = await get_task(ctx, ref)
    if task.status not in (TaskStatus.FAILED, TaskStatus.CANCELLED):
        raise ConflictError(
            f"only failed or cancelled tasks can be retried; this one is {task.status.value}"
        )
    return await _reopen(ctx, task, None, action="retried")


async def counts(ctx: AppContext) -> dict[str, int]:
    return await tasks_db.count_tasks_by_status(ctx.db.pool, ctx.user.id)


async def balance(ctx: AppContext) -> int:
    return (await users.get_user(ctx.db.pool, ctx.user.id)).credits


def money(value: Decimal) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"
