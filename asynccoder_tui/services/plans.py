"""Plans of a user's tasks: show the planner's proposal with the progress of its children,
edit it, approve it (queueing one child per subtask, each on a branch from the parent's,
the ones with dependencies waiting until those are merged), and resume it after a merge
conflict or a failed child stopped it (continue, or skip that child)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asynccoder_tui.db import ai_models, events, plans, repositories
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.plans import Child
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind, EventKind, ProviderKind, TaskMode, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, InputError, NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.engine import plans as plan_engine
from asynccoder_tui.engine.credits import hold_for_run
from asynccoder_tui.engine.plans import normalize_subtasks
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import resolve_token
from asynccoder_tui.services.review import workspace_manager


@dataclass(frozen=True)
class PlanView:
    task_id: UUID
    status: str
    subtasks: list[dict[str, Any]]
    problem: dict[str, Any] | None
    children: list[Child]

    @property
    def done(self) -> int:
        return sum(c.merged for c in self.children)

    @property
    def total(self) -> int:
        return len(self.children)

    @property
    def progress(self) -> str:
        """Like "2/3 subtasks merged", naming the skipped ones apart (done, never merged)."""
        skipped = sum(c.skipped for c in self.children)
        if skipped:
            return f"{self.done - skipped}/{self.total} subtasks merged, {skipped} skipped"
        return f"{self.done}/{self.total} subtasks merged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": str(self.task_id),
            "status": self.status,
            "subtasks": self.subtasks,
            "problem": self.problem,
            "progress": {"done": self.done, "total": self.total},
            "children": [
                {"id": str(c.id), "step": c.position + 1, "title": c.title, "status": c.status,
                 "merged": c.merged and not c.skipped, "skipped": c.skipped,
                 "branch": c.work_branch,
                 "depends_on": [str(d) for d in c.depends_on]}
                for c in self.children
            ],
        }  # fmt: skip


async def show_plan(ctx: AppContext, ref: str | UUID) -> PlanView:
    task = await task_service.get_task(ctx, ref)
    plan = await plans.get_plan(ctx.db.pool, task.id)
    if plan is None:
        raise NotFoundError(
            f"task {str(task.id)[:8]} has no plan",
            hint="submit a task in mode plan; its planner proposes one when it completes",
        )
    return PlanView(
        task.id,
        plan.status,
        plan.subtasks,
        plan.problem,
        await plans.children(ctx.db.pool, task.id),
    )


async def edit_plan(ctx: AppContext, ref: str | UUID, subtasks: Any) -> PlanView:
    """Replace a proposed plan's subtasks (checked: titles, prompts, dependencies, no cycle)."""
    task = await task_service.get_task(ctx, ref)
    clean = normalize_subtasks(subtasks)
    async with transaction(ctx.db.pool) as conn:
        plan = await plans.get_plan(conn, task.id, lock=True)
        if plan is None or plan.status != "proposed":
            raise ConflictError("only a proposed plan can be edited")
        await plans.update_plan(conn, task.id, subtasks=clean)
    return await show_plan(ctx, task.id)


# -- the plan as text (the editor's form) ---------------------------------------------------

PLAN_ROLES = tuple(k.value for k in AgentKind if k not in (AgentKind.PLANNER, AgentKind.REVIEWER))
PLAN_TEXT_HELP = (
    "Each step starts with a line like  ## 2. Title  [role: coder]  [after: 1]  "
    "(steps numbered 1, 2, 3 in order; role defaults to coder; after: none or earlier step "
    "numbers; [model: name] is optional); the lines below it are its prompt."
)
_HEADER = re.compile(r"^##\s*(\d+)\s*[.)]\s?(.*)$")
_TAG = re.compile(r"\s*\[\s*([A-Za-z_]+)\s*:\s*([^\]]*)\]\s*$")
_SUBTASK_ERROR = re.compile(r"^subtask (\d+) ")


def plan_text(subtasks: list[dict[str, Any]]) -> str:
    """A plan's subtasks as the editable text `parse_plan_text` reads back."""
    blocks: list[str] = []
    for step, sub in enumerate(subtasks, 1):
        deps = ", ".join(str(d) for d in sub.get("depends_on") or []) or "none"
        header = f"## {step}. {sub['title']}  [role: {sub.get('role') or 'coder'}]  [after: {deps}]"
        if sub.get("model"):
            header += f"  [model: {sub['model']}]"
        blocks.append(f"{header}\n{str(sub['prompt']).strip()}\n")
    return "\n".join(blocks)


def _header_tags(rest: str, line: int) -> tuple[str, dict[str, str]]:
    tags: dict[str, str] = {}
    while match := _TAG.search(rest):
        key = match.group(1).lower()
        if key not in ("role", "after", "model"):
            raise InputError(f"line {line}: [{key}: ...] is not known; use role, after or model")
        if key in tags:
            raise InputError(f"line {line}: [{key}: ...] is given twice")
        tags[key] = match.group(2).strip()
        rest = rest[: match.start()]
    return rest.strip(), tags


def _after(value: str, step: int, line: int) -> list[int]:
    if value.lower() in ("", "none", "-"):
        return []
    deps: list[int] = []
    for part in re.split(r"[,\s]+", value.strip()):
        if not part.isdigit():
            raise InputError(
                f"line {line}: step {step} comes after {part!r}; name earlier step numbers "
                f"(like [after: 1, 2]) or none"
            )
        dep = int(part)
        if dep == step:
            raise InputError(f"line {line}: step {step} cannot come after itself")
        if dep > step:
            raise InputError(
                f"line {line}: step {step} comes after step {dep}, which is later in the plan; "
                f"a step may wait only for earlier ones (reorder the steps)"
            )
        if dep < 1:
            raise InputError(f"line {line}: step {step} comes after step {dep}, which is no step")
        if dep not in deps:
            deps.append(dep)
    return deps


def parse_plan_text(text: str) -> list[dict[str, Any]]:
    """The subtasks written in `text` (the form `plan_text` writes), checked like any plan by
    `normalize_subtasks`. `InputError` says what is wrong and on which line."""
    steps: list[tuple[int, dict[str, Any], list[str]]] = []  # header line, fields, prompt lines
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header is None:
            if steps:
                steps[-1][2].append(line)
            elif line.strip():
                raise InputError(
                    f"line {number}: text before the first step; start each step with a line "
                    f"like  ## 1. Title"
                )
            continue
        step = len(steps) + 1
        if int(header.group(1)) != step:
            raise InputError(
                f"line {number}: this is step {step} but is numbered {header.group(1)}; "
                f"number the steps 1, 2, 3 in order"
            )
        title, tags = _header_tags(header.group(2), number)
        if not title:
            raise InputError(f"line {number}: step {step} has no title")
        role = tags.get("role", "").lower().replace(" ", "_") or "coder"
        if role not in PLAN_ROLES:
            raise InputError(
                f"line {number}: step {step}'s role {tags['role']!r} is unknown; "
                f"use one of {', '.join(PLAN_ROLES)}"
            )
        fields: dict[str, Any] = {"title": title, "role": role, "model": tags.get("model") or None,
                  "depends_on": _after(tags.get("after", ""), step, number)}  # fmt: skip
        steps.append((number, fields, []))
    if not steps:
        raise InputError("the plan has no steps; start each one with a line like  ## 1. Title")
    subtasks: list[dict[str, Any]] = []
    for at, fields, prompt in steps:
        fields["prompt"] = "\n".join(prompt).strip()
        if not fields["prompt"]:
            raise InputError(
                f"line {at}: step {len(subtasks) + 1} has no prompt; write it on the lines "
                f"below its title"
            )
        subtasks.append(fields)
    try:
        return normalize_subtasks(subtasks)
    except InputError as err:
        found = _SUBTASK_ERROR.match(err.message)
        if found and 1 <= int(found.group(1)) <= len(steps):
            raise InputError(f"line {steps[int(found.group(1)) - 1][0]}: {err.message}") from err
        raise


async def _provider(ctx: AppContext, model: str, parent: Task) -> ProviderKind:
    found = await ai_models.find_model(ctx.db.pool, model)
    if found is not None:
        return found.provider
    return ProviderKind.SCRIPTED if model.startswith("scripted:") else parent.provider


async def approve_plan(ctx: AppContext, ref: str | UUID) -> list[Task]:
    """Queue the plan's subtasks as children of the task, holding each one's credits."""
    task = await task_service.get_task(ctx, ref)
    if task.status is not TaskStatus.COMPLETED or not task.work_branch:
        raise ConflictError("the planner has not finished this task; approve it once completed")
    pool = ctx.db.pool
    plan = await plans.get_plan(pool, task.id)
    if plan is None:
        raise NotFoundError(f"task {str(task.id)[:8]} has no plan")
    subtasks = normalize_subtasks(plan.subtasks)
    providers = {
        model: await _provider(ctx, model, task)
        for model in {s["model"] or task.model for s in subtasks}
    }
    credits = max(1, task.estimated_credits)
    ids: list[UUID] = []
    async with transaction(pool) as conn:
        locked = await plans.get_plan(conn, task.id, lock=True)
        if locked is None or locked.status != "proposed":
            raise ConflictError("this plan is already approved")
        for position, sub in enumerate(subtasks):
            model = sub["model"] or task.model
            child = await tasks_db.insert_task(
                conn,
                tasks_db.NewTask(
                    owner_id=task.owner_id, repository_id=task.repository_id, model=model,
                    provider=providers[model], title=sub["title"], prompt=sub["prompt"],
                    mode=TaskMode.CODE, priority=task.priority, base_branch=task.work_branch,
                    estimated_credits=credits, parent_id=task.id, agent_kind=sub["role"],
                ),
            )  # fmt: skip
            await hold_for_run(conn, task.owner_id, child.id, 1, credits)
            await plans.place_child(conn, child.id, position, blocked=bool(sub["depends_on"]))
            ids.append(child.id)
            waiting = ", ".join(str(s) for s in sub["depends_on"])
            await events.append_events(
                conn, child.id,
                [(EventKind.MESSAGE, {"role": "user", "text": sub["prompt"]}),
                 (EventKind.STATUS, {"status": "queued", "detail": (
                     f"step {position + 1} of the plan"
                     + (f", waiting for step(s) {waiting}" if waiting else ""))})],
            )  # fmt: skip
        for child_id, sub in zip(ids, subtasks, strict=True):
            for step in sub["depends_on"]:
                await plans.add_dependency(conn, child_id, ids[step - 1])
        await plans.update_plan(conn, task.id, status="approved")
        await events.append_events(
            conn, task.id,
            [(EventKind.STATUS, {"status": "plan_approved",
                                 "detail": f"{len(ids)} subtasks queued (0/{len(ids)} done)"})],
        )  # fmt: skip
    return [await tasks_db.get_task(pool, i) for i in ids]


RESUME_ACTIONS = ("continue", "skip")


async def resume_plan(ctx: AppContext, ref: str | UUID, action: str = "continue") -> PlanView:
    """Go on with a stopped plan: `continue` merges the child that stopped it (committing a
    conflict resolved in the parent's workspace, or merging again and leaving a new conflict
    there to resolve), `skip` leaves that child out; then the children that completed
    meanwhile are merged in plan order. The returned view says whether it stopped again."""
    if action not in RESUME_ACTIONS:
        raise InputError(f"resume a plan with continue or skip, not {action!r}")
    task = await task_service.get_task(ctx, ref)
    if await plans.get_plan(ctx.db.pool, task.id) is None:
        raise NotFoundError(f"task {str(task.id)[:8]} has no plan")
    repo = await repositories.get_repository(ctx.db.pool, task.repository_id)
    token = await resolve_token(ctx) if repo.full_name else None
    await plan_engine.resume_plan(ctx.db.pool, workspace_manager(ctx), task.id, action, token)
    return await show_plan(ctx, task.id)
