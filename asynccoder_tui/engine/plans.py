"""Plans: the planner's subtasks, queued as children that run in dependency order and are
merged into the parent's branch.

A planner run (mode `plan`) finishes with a summary holding one fenced JSON block
(`{"subtasks": [{"title", "prompt", "role", "depends_on", "model"?}]}`; `depends_on` lists step
numbers, 1-based, or titles). It is kept as the task's proposed plan; the user edits or approves
it (`services.plans`). Approving queues one child per subtask on a branch from the parent's
branch; a child with dependencies waits at `run_after = 'infinity'` (the claim needs no change)
until each dependency has been merged. When a child completes, its branch is merged into the
parent's workspace (one merge at a time per parent, under an advisory lock), then the children
it unblocked are released. A merge conflict undoes that merge, stops the plan and names the
files on the parent; a failed child stops it too. `resume_plan` goes on from there: merging
the stopping child again (leaving a conflict in the parent's workspace for a person to resolve,
then committing it), or skipping it, then merging in plan order what completed meanwhile.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from uuid import UUID

from asynccoder_tui.db import events, plans, repositories
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind, EventKind, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.vcs import merge
from asynccoder_tui.vcs.review import workspace_git
from asynccoder_tui.vcs.spec import Workspace
from asynccoder_tui.vcs.workspace import WorkspaceManager

log = logging.getLogger(__name__)

MAX_SUBTASKS = 20
_FENCE = re.compile(r"```(?:json)?\s*([\[{].*?[\]}])\s*```", re.DOTALL)


def normalize_subtasks(raw: Any) -> list[dict[str, Any]]:
    """Subtasks checked and in one shape: title, prompt, role (an agent kind, default coder),
    depends_on (1-based step numbers), model (or None). `InputError` names what is wrong,
    including a dependency cycle."""
    items = raw.get("subtasks") if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise InputError("a plan needs a non-empty list of subtasks")
    if len(items) > MAX_SUBTASKS:
        raise InputError(f"a plan has at most {MAX_SUBTASKS} subtasks, not {len(items)}")
    titles: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(f"subtask {number} is not an object")
        title = " ".join(str(item.get("title") or "").split())[:200]
        prompt = str(item.get("prompt") or "").strip()
        if not title or not prompt:
            raise InputError(f"subtask {number} needs a title and a prompt")
        role = str(item.get("role") or "coder").strip().lower().replace(" ", "_")
        if role not in {k.value for k in AgentKind} or role in ("planner", "reviewer"):
            role = "coder"
        model = item.get("model")
        titles.setdefault(title.lower(), number)
        out.append({
            "title": title, "prompt": prompt, "role": role,
            "model": str(model).strip() if model else None,
            "depends_on": item.get("depends_on") or [],
        })  # fmt: skip
    for number, sub in enumerate(out, 1):
        deps: list[int] = []
        for dep in sub["depends_on"] if isinstance(sub["depends_on"], list) else []:
            step = dep if isinstance(dep, int) else titles.get(str(dep).strip().lower())
            if step is None and str(dep).strip().isdigit():
                step = int(str(dep).strip())
            if not isinstance(step, int) or not 1 <= step <= len(out) or step == number:
                raise InputError(f"subtask {number} depends on {dep!r}, which is no other step")
            if step not in deps:
                deps.append(step)
        sub["depends_on"] = sorted(deps)
    _check_acyclic(out)
    return out


def _check_acyclic(subtasks: list[dict[str, Any]]) -> None:
    waiting = {n: set(s["depends_on"]) for n, s in enumerate(subtasks, 1)}
    done: set[int] = set()
    while waiting:
        ready = [n for n, deps in waiting.items() if deps <= done]
        if not ready:
            raise InputError(f"the plan's dependencies form a cycle among steps {sorted(waiting)}")
        for n in ready:
            done.add(n)
            del waiting[n]


def parse_plan(summary: str | None) -> list[dict[str, Any]]:
    """The subtasks in the planner's summary (its last fenced JSON block that is a valid plan)."""
    problem: InputError | None = None
    for block in reversed(_FENCE.findall(summary or "")):
        try:
            return normalize_subtasks(json.loads(block))
        except ValueError:
            continue
        except InputError as err:
            problem = problem or err
    raise problem or InputError("the planner's summary holds no plan (a fenced JSON block)")


async def record_plan(conn: Executor, task: Task, summary: str | None) -> None:
    """Keep the planner's proposal as the task's plan, or say on the task why there is none."""
    try:
        subtasks = parse_plan(summary)
    except InputError as err:
        await events.append_events(
            conn, task.id, [(EventKind.ERROR, {"message": f"no plan to approve: {err}"})]
        )
        return
    await plans.save_plan(conn, task.id, subtasks)
    await events.append_events(
        conn, task.id,
        [(EventKind.STATUS, {"status": "plan_proposed",
                             "detail": f"{len(subtasks)} subtasks proposed; review and approve "
                                       f"the plan to run them"})],
    )  # fmt: skip


async def _problem(conn: Executor, parent_id: Any, status: str, detail: dict[str, Any]) -> None:
    await plans.update_plan(conn, parent_id, status=status, problem=detail)
    await events.append_events(conn, parent_id, [(EventKind.ERROR, detail)])


async def _child_failed(conn: Executor, parent_id: UUID, child: Task) -> None:
    message = f"subtask {child.title!r} {child.status.value}: {child.error or 'no detail'}"
    await _problem(conn, parent_id, "failed", {"message": message, "child": str(child.id)})


async def _parent_workspace(
    conn: Executor, workspaces: WorkspaceManager, parent: Task, token: str | None
) -> Workspace:
    repo = await repositories.get_repository(conn, parent.repository_id)
    return await workspaces.prepare(
        repo, task_id=parent.id, slug=parent.title, base_branch=parent.base_branch, token=token
    )


async def _conflict(
    conn: Executor, parent: Task, child: Task, ws: Workspace, files: list[str], *, kept: bool
) -> None:
    names = ", ".join(files) or "(git named none)"
    where = (
        f"The conflict is left in the parent's workspace {ws.path}: resolve the files there, "
        "then resume the plan (or skip this subtask)."
        if kept
        else "The plan is stopped; resume it to merge again (leaving the conflict in the "
        "parent's workspace to resolve), or skip this subtask."
    )
    await _problem(conn, parent.id, "conflict", {
        "message": f"merge conflict merging subtask {child.title!r} into {ws.branch}: "
                   f"{names}. {where}",
        "child": str(child.id), "files": files, "workspace": str(ws.path), "kept": kept,
    })  # fmt: skip


async def _merge_child(
    conn: Executor, workspaces: WorkspaceManager, parent: Task, child: Task, token: str | None,
    *, keep_conflict: bool = False,
) -> bool:  # fmt: skip
    """Merge a completed child's branch into the parent's workspace and mark it merged; on a
    conflict, stop the plan (saying so) and return False."""
    if child.commit_sha and child.work_branch:
        ws = await _parent_workspace(conn, workspaces, parent, token)
        git = workspace_git(ws, workspaces.git_timeout)
        author = {"author_name": workspaces.author_name, "author_email": workspaces.author_email}
        if await merge.merge_in_progress(git):
            merged = await merge.conclude_merge(git, ws.path, **author)
            if not merged.merged:
                await _conflict(conn, parent, child, ws, merged.conflicts, kept=True)
                return False
        elif await merge.contains(git, child.commit_sha):  # merged by hand
            merged = merge.MergeResult(True, sha=(await git.text("rev-parse", "HEAD")).strip())
        else:
            message = f"Merge subtask: {child.title}\n\nTask: {child.id}"
            merged = await merge.merge_branch(
                git, child.work_branch, message, keep_conflict=keep_conflict, **author
            )
            if not merged.merged:
                await _conflict(conn, parent, child, ws, merged.conflicts, kept=keep_conflict)
                return False
        stats = await workspaces.diff_stats(ws)
        await plans.set_parent_diff(
            conn, parent.id, commit_sha=merged.sha, files=stats.files_changed,
            added=stats.added, removed=stats.removed,
        )  # fmt: skip
    await plans.mark_merged(conn, child.id)
    return True


async def _advance(conn: Executor, parent_id: UUID, detail: str) -> None:
    """Release the children the merges unblocked and record the plan's progress."""
    released = await plans.release_ready(conn, parent_id)
    done, total = await plans.progress(conn, parent_id)
    detail += f" ({done}/{total} done)"
    if released:
        detail += f"; {len(released)} waiting subtask(s) released"
    if done == total:
        await plans.update_plan(conn, parent_id, status="merged")
        detail += "; every subtask is merged"
    await events.append_events(
        conn, parent_id,
        [(EventKind.STATUS, {"status": "subtask_merged", "detail": detail,
                             "done": done, "total": total})],
    )  # fmt: skip


async def after_child(
    db: Executor, workspaces: WorkspaceManager, child: Task, status: TaskStatus,
    token: str | None = None,
) -> None:  # fmt: skip
    """After a plan's child ends: merge it and release what it unblocked, or stop the plan."""
    if child.parent_id is None:
        return
    async with transaction(db) as conn:
        # One child at a time per parent: merges into one workspace must not interleave.
        await plans.lock_plan(conn, child.parent_id)
        plan = await plans.get_plan(conn, child.parent_id, lock=True)
        if plan is None or plan.status != "approved":
            return
        current = await tasks_db.get_task(conn, child.id)
        if status is not TaskStatus.COMPLETED:
            await _child_failed(conn, child.parent_id, current)
            return
        parent = await tasks_db.get_task(conn, child.parent_id)
        if await _merge_child(conn, workspaces, parent, current, token):
            await _advance(conn, parent.id, f"merged subtask {current.title!r}")


async def resume_plan(
    db: Executor, workspaces: WorkspaceManager, parent_id: UUID, action: str,
    token: str | None = None,
) -> None:  # fmt: skip
    """Go on with a plan a conflict or a failed child stopped.

    `continue`: the stopping child is merged (a merge left in progress is committed once its
    files are resolved; a merge done by hand is recognised; otherwise the merge is tried again
    and a conflict is left in the parent's workspace to resolve), or, when it was re-run and is
    still queued or running, merged when it completes. `skip`: the stopping child is left out
    (its dependents are released without it). Then the children that completed while the plan
    was stopped are merged in plan order, stopping again at the next conflict.
    """
    if action not in ("continue", "skip"):
        raise InputError(f"resume a plan with continue or skip, not {action!r}")
    async with transaction(db) as conn:
        await plans.lock_plan(conn, parent_id)
        plan = await plans.get_plan(conn, parent_id, lock=True)
        if plan is None or plan.status not in ("conflict", "failed"):
            raise ConflictError(
                "this plan is not stopped: there is nothing to resume",
                hint="a plan stops on a merge conflict or a failed subtask",
            )
        parent = await tasks_db.get_task(conn, parent_id)
        stopped = (plan.problem or {}).get("child")
        child = await tasks_db.get_task(conn, UUID(str(stopped))) if stopped else None
        if child is not None and action == "skip":
            await _skip(conn, workspaces, parent, child, plan.problem or {}, token)
            await plans.update_plan(conn, parent_id, status="approved")
            await _advance(conn, parent_id, f"skipped subtask {child.title!r}")
        elif child is not None and child.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
            await plans.update_plan(conn, parent_id, status="approved")
            await events.append_events(conn, parent_id, [(EventKind.STATUS, {
                "status": "plan_resumed",
                "detail": f"resumed; subtask {child.title!r} is merged when it completes"})])  # fmt: skip
            return
        elif child is not None and not await _is_merged(conn, parent_id, child.id):
            if child.status is not TaskStatus.COMPLETED:
                raise ConflictError(
                    f"subtask {child.title!r} is {child.status.value}",
                    hint="retry it and resume once it completes, or skip it",
                )
            if not await _merge_child(conn, workspaces, parent, child, token, keep_conflict=True):
                return
            await plans.update_plan(conn, parent_id, status="approved")
            await _advance(conn, parent_id, f"merged subtask {child.title!r}")
        else:
            await plans.update_plan(conn, parent_id, status="approved")
        await _merge_waiting(conn, workspaces, parent, token)


async def _is_merged(conn: Executor, parent_id: UUID, child_id: UUID) -> bool:
    return any(c.id == child_id and c.merged for c in await plans.children(conn, parent_id))


async def _skip(
    conn: Executor, workspaces: WorkspaceManager, parent: Task, child: Task,
    problem: dict[str, Any], token: str | None,
) -> None:  # fmt: skip
    if child.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        raise ConflictError(
            f"subtask {child.title!r} is {child.status.value}", hint="cancel it first, then skip"
        )
    if problem.get("kept"):  # a merge left in progress for this child: undo it
        ws = await _parent_workspace(conn, workspaces, parent, token)
        git = workspace_git(ws, workspaces.git_timeout)
        if await merge.merge_in_progress(git):
            await merge.abort_merge(git)
    await plans.mark_skipped(conn, child.id)
    await events.append_events(
        conn, child.id,
        [(EventKind.STATUS, {"status": "skipped",
                             "detail": "left out of the plan; its changes are not merged"})],
    )  # fmt: skip


async def _merge_waiting(
    conn: Executor, workspaces: WorkspaceManager, parent: Task, token: str | None
) -> None:
    """Merge, in plan order, the children that ended while the plan was stopped."""
    for entry in await plans.children(conn, parent.id):
        if entry.merged or entry.status in ("queued", "running"):
            continue
        child = await tasks_db.get_task(conn, entry.id)
        if child.status is not TaskStatus.COMPLETED:
            await _child_failed(conn, parent.id, child)
            return
        if not await _merge_child(conn, workspaces, parent, child, token):
            return
        await _advance(conn, parent.id, f"merged subtask {child.title!r}")
