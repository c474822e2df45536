"""Best-of-N: three sibling attempts with different models, each tested with the repository's
test command; picking one cancels nothing finished, removes the others' workspaces and
branches, and marks them discarded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from asynccoder_tui.db import repositories
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.services import attempts, repos, tasks
from asynccoder_tui.services.review import workspace_manager
from tests.engine.conftest import git, quick, running_pool, wait_status

FINAL = {"completed", "failed", "cancelled"}


def _has_branch(root: Path, branch: str) -> bool:
    return (
        subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"], cwd=root,
            capture_output=True, check=False,
        ).returncode == 0
    )  # fmt: skip


async def test_three_attempts_tested_then_one_picked(ctx, settings, make_repo) -> None:
    root = make_repo()
    repo = await repos.add_repo(ctx, str(root))
    await repositories.update_settings(ctx.db.pool, repo.id, {"test_command": "test -f pick.txt"})
    request = tasks.SubmitRequest(repository=str(root), prompt="write pick.txt: picked")
    with pytest.raises(InputError):
        await attempts.submit_attempts(ctx, request, 5)
    made = await attempts.submit_attempts(
        ctx, request, 3, models=["scripted:writer", "scripted:demo"]
    )
    assert [t.model for t in made] == ["scripted:writer", "scripted:demo", "scripted:writer"]
    assert [t.title.endswith(f"(attempt {n}/3)") for n, t in enumerate(made, 1)] == [True] * 3
    async with running_pool(ctx, quick(settings), concurrency=3):
        done = [await wait_status(ctx, t.id, FINAL) for t in made]
    assert [d.status.value for d in done] == ["completed"] * 3
    assert len({d.work_branch for d in done}) == 3

    rows = await attempts.list_attempts(ctx, made[1].id)
    assert [r.id for r in rows] == [t.id for t in made]
    assert [r.test_exit_code for r in rows] == [0, 1, 0]
    assert [r.files_changed for r in rows] == [d.files_changed for d in done]

    discarded = await attempts.pick(ctx, made[2].id)
    assert set(discarded) == {made[0].id, made[1].id}
    rows = await attempts.list_attempts(ctx, made[2].id)
    assert [r.discarded for r in rows] == [True, True, False]
    manager = workspace_manager(ctx)
    for gone in done[:2]:
        assert await manager.open(gone.id) is None
        assert gone.work_branch and not _has_branch(root, gone.work_branch)
    kept = done[2]
    assert kept.work_branch and _has_branch(root, kept.work_branch)
    assert git(root, "show", f"{kept.work_branch}:pick.txt") == "picked\n"
