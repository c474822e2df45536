"""Planner and subtasks: a proposed plan is shown, edited and approved; its children run in
dependency order, each on a branch from the parent's, and are merged into the parent's branch;
a merge conflict stops the plan and names the files."""

from __future__ import annotations

import pytest

from asynccoder_tui.db import events
from asynccoder_tui.domain.enums import EventKind, TaskMode
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.engine.plans import normalize_subtasks, parse_plan
from asynccoder_tui.services import plans, repos, tasks
from tests.engine.conftest import git, quick, running_pool, wait_for, wait_status

FINAL = {"completed", "failed", "cancelled"}


def test_subtasks_are_checked() -> None:
    clean = normalize_subtasks(
        [{"title": "A", "prompt": "a"}, {"title": "B", "prompt": "b", "depends_on": ["a", 1]}]
    )
    assert clean[1]["depends_on"] == [1] and clean[0]["role"] == "coder"
    with pytest.raises(InputError, match="cycle"):
        normalize_subtasks([
            {"title": "A", "prompt": "a", "depends_on": [2]},
            {"title": "B", "prompt": "b", "depends_on": [1]},
        ])  # fmt: skip
    with pytest.raises(InputError, match="no other step"):
        normalize_subtasks([{"title": "A", "prompt": "a", "depends_on": [5]}])
    with pytest.raises(InputError):
        parse_plan("no plan here")


async def _planned(ctx, root, model: str):
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(
            repository=str(root), prompt="Build it", model=model, mode=TaskMode.PLAN
        ),
    )
    done = await wait_status(ctx, task.id, FINAL)
    assert done.status.value == "completed", done.error
    return done


async def test_plan_runs_in_dependency_order_and_merges(ctx, settings, make_repo) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    async with running_pool(ctx, quick(settings), concurrency=3):
        parent = await _planned(ctx, root, "scripted:planner")
        view = await plans.show_plan(ctx, parent.id)
        assert view.status == "proposed" and view.total == 0
        assert [s["depends_on"] for s in view.subtasks] == [[], [], [1, 2]]
        assert [s["role"] for s in view.subtasks] == ["backend", "frontend", "coder"]
        # An edit is checked and kept.
        edited = [dict(s) for s in view.subtasks]
        edited[2]["prompt"] = "write gamma.txt: gamma edited"
        assert (
            (await plans.edit_plan(ctx, parent.id, edited)).subtasks[2]["prompt"].endswith("edited")
        )
        children = await plans.approve_plan(ctx, parent.id)
        with pytest.raises(ConflictError):
            await plans.approve_plan(ctx, parent.id)
        assert [c.base_branch for c in children] == [parent.work_branch] * 3
        assert children[2].run_after.year > 9000  # waits for steps 1 and 2

        async def merged():
            view = await plans.show_plan(ctx, parent.id)
            return view if view.status in ("merged", "conflict", "failed") else None

        final = await wait_for(merged, timeout=60, what="the plan merged")
    assert final.status == "merged", final.problem
    assert (final.done, final.total) == (3, 3)
    alpha, beta, gamma = [await tasks.get_task(ctx, c.id) for c in children]
    assert gamma.started_at and alpha.completed_at and beta.completed_at
    assert gamma.started_at >= max(alpha.completed_at, beta.completed_at)
    # Gamma branched from the parent's branch after both were merged into it.
    assert git(root, "show", f"{gamma.work_branch}:alpha.txt") == "alpha\n"
    assert git(root, "show", f"{gamma.work_branch}:beta.txt") == "beta\n"
    for name, text in (("alpha", "alpha"), ("beta", "beta"), ("gamma", "gamma edited")):
        assert git(root, "show", f"{parent.work_branch}:{name}.txt") == f"{text}\n"
    parent_now = await tasks.get_task(ctx, parent.id)
    assert parent_now.files_changed == 3
    notes = [
        e.payload.get("detail") for e in await events.list_events(ctx.db.pool, parent.id)
        if e.kind is EventKind.STATUS and e.payload.get("status") == "subtask_merged"
    ]  # fmt: skip
    assert len(notes) == 3 and "(3/3 done)" in notes[-1]


async def test_merge_conflict_stops_and_names_the_files(ctx, settings, make_repo) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    async with running_pool(ctx, quick(settings), concurrency=2):
        parent = await _planned(ctx, root, "scripted:planner-conflict")
        children = await plans.approve_plan(ctx, parent.id)

        async def stopped():
            view = await plans.show_plan(ctx, parent.id)
            return view if view.status != "approved" else None

        final = await wait_for(stopped, timeout=60, what="the plan to stop")
        for child in children:
            await wait_status(ctx, child.id, FINAL)
    assert final.status == "conflict"
    assert final.problem and final.problem["files"] == ["same.txt"]
    assert (final.done, final.total) == (1, 2)
    errors = [
        e.payload.get("message") for e in await events.list_events(ctx.db.pool, parent.id)
        if e.kind is EventKind.ERROR
    ]  # fmt: skip
    assert any("merge conflict" in str(m) and "same.txt" in str(m) for m in errors)
    # The parent's branch holds the first merge only, with no conflict markers.
    text = git(root, "show", f"{parent.work_branch}:same.txt")
    assert text in ("one\n", "two\n")
