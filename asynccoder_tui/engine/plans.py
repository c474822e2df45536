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
files on the parent; a failed child stops it too.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from asynccoder_tui.db import events, plans, repositories
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind, EventKind, TaskStatus
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.domain.models import Task
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
            message = f"subtask {current.title!r} {status.value}: {current.error or 'no detail'}"
            await _problem(conn, child.parent_id, "failed", {"message": message,
                                                             "child": str(child.id)})  # fmt: skip
            return
        parent = await tasks_db.get_task(conn, child.parent_id)
        if current.commit_sha and current.work_branch:
            repo = await repositories.get_repository(conn, parent.repository_id)
            ws = await workspaces.prepare(
                repo, task_id=parent.id, slug=parent.title, base_branch=parent.base_branch,
                token=token,
            )  # fmt: skip
            merged = await workspaces.merge(
                ws, current.work_branch, f"Merge subtask: {current.title}\n\nTask: {current.id}"
            )
            if not merged.merged:
                files = ", ".join(merged.conflicts) or "(git named none)"
                await _problem(conn, parent.id, "conflict", {
                    "message": f"merge conflict merging subtask {current.title!r} into "
                               f"{ws.branch}: {files}. The plan is stopped; resolve it in the "
                               f"parent's workspace or change the plan.",
                    "child": str(current.id), "files": merged.conflicts,
                })  # fmt: skip
                return
            stats = await workspaces.diff_stats(ws)
            await plans.set_parent_diff(
                conn, parent.id, commit_sha=merged.sha, files=stats.files_changed,
                added=stats.added, removed=stats.removed,
            )  # fmt: skip
        await plans.mark_merged(conn, current.id)
        released = await plans.release_ready(conn, parent.id)
        done, total = await plans.progress(conn, parent.id)
        detail = f"merged subtask {current.title!r} ({done}/{total} done)"
        if released:
            detail += f"; {len(released)} waiting subtask(s) released"
        if done == total:
            await plans.update_plan(conn, parent.id, status="merged")
            detail += "; every subtask is merged"
        await events.append_events(
            conn, parent.id,
            [(EventKind.STATUS, {"status": "subtask_merged", "detail": detail,
                                 "done": done, "total": total})],
        )  # fmt: skip
