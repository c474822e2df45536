"""Resuming a plan a merge conflict stopped: merging again leaves the conflict in the parent's
workspace, a person resolves it and the plan continues; or the conflicting subtask is skipped
and the plan finishes without it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.services import plans, repos, tasks
from tests.cli.test_cli import run
from tests.engine.conftest import git, quick, running_pool, wait_for, wait_status

FINAL = {"completed", "failed", "cancelled"}


async def _stopped_plan(ctx, settings, root: Path):
    """A planner-conflict plan, approved, run until its second merge conflicts."""
    await repos.add_repo(ctx, str(root))
    async with running_pool(ctx, quick(settings), concurrency=2):
        parent = await tasks.submit(
            ctx,
            tasks.SubmitRequest(
                repository=str(root), prompt="Build it", model="scripted:planner-conflict",
                mode=TaskMode.PLAN,
            ),
        )  # fmt: skip
        parent = await wait_status(ctx, parent.id, FINAL, timeout=60)
        children = await plans.approve_plan(ctx, parent.id)

        async def stopped():
            view = await plans.show_plan(ctx, parent.id)
            return view if view.status != "approved" else None

        view = await wait_for(stopped, timeout=60, what="the plan to stop")
        for child in children:
            await wait_status(ctx, child.id, FINAL)
    assert view.status == "conflict" and (view.done, view.total) == (1, 2)
    return parent, view


async def test_continue_after_resolving_the_conflict(ctx, settings, make_repo) -> None:
    root = make_repo()
    parent, _view = await _stopped_plan(ctx, settings, root)
    first = git(root, "show", f"{parent.work_branch}:same.txt")
    with pytest.raises(InputError):
        await plans.resume_plan(ctx, parent.id, "onwards")

    # Merging again leaves the conflict in the parent's workspace, for a person to resolve.
    again = await plans.resume_plan(ctx, parent.id, "continue")
    assert again.status == "conflict" and again.problem
    assert again.problem["kept"] is True and again.problem["files"] == ["same.txt"]
    workspace = Path(again.problem["workspace"])
    assert "<<<<<<<" in (workspace / "same.txt").read_text()
    # Continuing with markers still in the file is refused and changes nothing.
    still = await plans.resume_plan(ctx, parent.id, "continue")
    assert still.status == "conflict" and (still.done, still.total) == (1, 2)
    assert git(root, "show", f"{parent.work_branch}:same.txt") == first

    (workspace / "same.txt").write_text("one\ntwo\n")
    done = await plans.resume_plan(ctx, parent.id, "continue")
    assert done.status == "merged", done.problem
    assert (done.done, done.total) == (2, 2) and not any(c.skipped for c in done.children)
    assert git(root, "show", f"{parent.work_branch}:same.txt") == "one\ntwo\n"
    log = git(root, "log", "--format=%s", "-3", parent.work_branch or "")
    assert log.startswith("Merge subtask")
    with pytest.raises(ConflictError, match="not stopped"):
        await plans.resume_plan(ctx, parent.id, "continue")


async def test_skip_the_conflicting_subtask(ctx, settings, make_repo) -> None:
    root = make_repo()
    parent, view = await _stopped_plan(ctx, settings, root)
    first = git(root, "show", f"{parent.work_branch}:same.txt")
    stopped_child = view.problem["child"] if view.problem else None

    resumed = await asyncio.to_thread(
        run, "task", "plan-resume", str(parent.id), "--skip", "--json",
        env={"DATABASE_URL": ctx.db.url},
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "merged"
    done = await plans.show_plan(ctx, parent.id)
    assert done.status == "merged" and (done.done, done.total) == (2, 2)
    skipped = [str(c.id) for c in done.children if c.skipped]
    assert skipped == [stopped_child]
    assert done.as_dict()["children"][[str(c.id) for c in done.children].index(
        stopped_child)]["skipped"] is True  # fmt: skip
    # The parent's branch holds the first merge only.
    assert git(root, "show", f"{parent.work_branch}:same.txt") == first


async def test_continue_after_merging_by_hand(ctx, settings, make_repo) -> None:
    import subprocess

    from asynccoder_tui.services.review import workspace_manager

    root = make_repo()
    parent, view = await _stopped_plan(ctx, settings, root)
    assert view.problem
    child = await tasks.get_task(ctx, view.problem["child"])
    ws = await workspace_manager(ctx).open(parent.id)
    assert ws is not None and child.work_branch
    # A person merges the branch in the parent's workspace, resolves and commits.
    with pytest.raises(subprocess.CalledProcessError):  # the same conflict
        git(ws.path, "merge", "--no-edit", child.work_branch)
    (ws.path / "same.txt").write_text("both\n")
    git(ws.path, "commit", "-qam", "merged by hand")

    done = await plans.resume_plan(ctx, parent.id, "continue")
    assert done.status == "merged" and (done.done, done.total) == (2, 2)
    assert git(root, "show", f"{parent.work_branch}:same.txt") == "both\n"
