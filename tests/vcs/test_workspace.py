"""Workspaces: a worktree and branch per task, from the chosen base, set up, and safe in parallel."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asynccoder_tui.config import Paths
from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.domain.errors import WorkspaceError
from asynccoder_tui.vcs.locks import RepoLocks
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager

from .conftest import commit_all, git


async def test_github_workspace_starts_from_default_branch_not_head(
    manager: WorkspaceManager, github_spec: RepoSpec, origin: Path, paths: Paths
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="Add a widget")
    assert ws.branch == "asynccoder/t1-add-a-widget"
    assert ws.base_branch == "main"
    assert ws.base_sha == git(origin, "rev-parse", "refs/heads/main")
    assert ws.path == paths.workspaces / "t1"
    assert (ws.path / "src" / "app.py").is_file()
    assert not (ws.path / "DEVELOP.md").exists(), "started from origin's HEAD (develop)"
    assert git(ws.path, "symbolic-ref", "HEAD") == "refs/heads/asynccoder/t1-add-a-widget"
    assert ws.common_dir.parent == paths.mirrors
    assert not ws.reused


async def test_chosen_base_branch_and_fetch_before_each_task(
    manager: WorkspaceManager, github_spec: RepoSpec, seed: Path
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="x", base_branch="develop")
    assert (ws.path / "DEVELOP.md").is_file()

    git(seed, "checkout", "-q", "main")
    (seed / "NEW.md").write_text("pushed after the first task\n")
    new_sha = commit_all(seed, "new upstream work")
    git(seed, "push", "-q", "origin", "main")

    ws2 = await manager.prepare(github_spec, task_id="t2", slug="y")
    assert ws2.base_sha == new_sha
    assert (ws2.path / "NEW.md").is_file()


async def test_missing_base_branch_is_a_clear_error(
    manager: WorkspaceManager, github_spec: RepoSpec
) -> None:
    with pytest.raises(WorkspaceError) as info:
        await manager.prepare(github_spec, task_id="t1", slug="x", base_branch="nope")
    assert "base branch 'nope' does not exist in acme/widgets" in str(info.value)


async def test_several_tasks_on_one_repository_at_once(
    manager: WorkspaceManager, github_spec: RepoSpec
) -> None:
    spaces = await asyncio.gather(
        *(manager.prepare(github_spec, task_id=f"t{i}", slug="same") for i in range(5))
    )
    assert len({ws.path for ws in spaces}) == 5
    assert len({ws.branch for ws in spaces}) == 5
    listing = git(spaces[0].common_dir, "worktree", "list", "--porcelain")
    for ws in spaces:
        assert f"worktree {ws.path}" in listing
        assert (ws.path / "README.md").is_file()


async def test_several_processes_on_one_repository_at_once(
    paths: Paths, github_spec: RepoSpec
) -> None:
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from asynccoder_tui.config import Paths
        from asynccoder_tui.vcs.spec import RepoSpec
        from asynccoder_tui.vcs.workspace import WorkspaceManager

        paths = Paths.model_validate_json(sys.argv[1])
        spec = RepoSpec.model_validate_json(sys.argv[2])

        async def main():
            manager = WorkspaceManager(paths, sandbox="none")
            spaces = await asyncio.gather(*(
                manager.prepare(spec, task_id=f"{sys.argv[3]}-{i}", slug="p") for i in range(3)
            ))
            print(json.dumps([str(ws.path) for ws in spaces]))

        asyncio.run(main())
        """
    )
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            paths.model_dump_json(),
            github_spec.model_dump_json(),
            f"p{n}",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(3)
    ]
    made: list[str] = []
    for proc in procs:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0, err.decode()
        made += json.loads(out)
    assert len(set(made)) == 9
    mirror = next(paths.mirrors.glob("*.git"))
    listing = git(mirror, "worktree", "list", "--porcelain")
    assert all(f"worktree {p}" in listing for p in made)


async def hold_lock_elsewhere(path: Path, seconds: float) -> asyncio.subprocess.Process:
    """Another process that takes the file lock at `path` for `seconds`."""
    code = textwrap.dedent(f"""
        import fcntl, os, time
        fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep({seconds})
    """)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"held"
    return proc


async def test_repository_lock_excludes_other_processes(tmp_path: Path) -> None:
    locks = RepoLocks(tmp_path / "locks")
    locks.lock_dir.mkdir()
    holder = await hold_lock_elsewhere(locks.path_for("repo"), 1.0)
    started = time.monotonic()
    async with locks.hold("repo"):
        waited = time.monotonic() - started
        # The lock came free because the holder finished, not earlier.
        assert await asyncio.wait_for(holder.wait(), timeout=2) == 0
    assert waited > 0.5, "got the lock while another process held it"

    other = await hold_lock_elsewhere(locks.path_for("repo"), 5.0)
    try:
        with pytest.raises(WorkspaceError, match="locked by another process"):
            async with locks.hold("repo", wait=0.3):
                pass
    finally:
        other.kill()
        await other.wait()
    async with locks.hold("repo", wait=1):
        pass


async def test_local_repository_is_used_in_place_and_left_untouched(
    manager: WorkspaceManager, local_repo: Path
) -> None:
    away = local_repo.parent / "on-an-unmounted-drive"
    git(local_repo, "worktree", "add", "-q", "-b", "user-branch", str(away))
    shutil.rmtree(away)
    before_status = git(local_repo, "status", "--porcelain")
    spec = RepoSpec(
        kind=RepoKind.LOCAL,
        local_path=str(local_repo),
        default_branch="main",
        settings={"copy_files": [".env", "missing.txt"]},
    )
    ws = await manager.prepare(spec, task_id="t1", slug="local work")
    assert ws.common_dir == local_repo / ".git"
    assert ws.base_sha == git(local_repo, "rev-parse", "main")
    assert (ws.path / "README.md").read_text() == "# Widgets\n", "took the user's uncommitted edit"
    assert (ws.path / ".env").read_text() == "SECRET_SETTING=1\n"
    assert ws.setup is not None and ws.setup.copied == [".env"]
    assert ws.setup.missing == ["missing.txt"]
    # The user's own checkout: same branch, same uncommitted work.
    assert git(local_repo, "symbolic-ref", "--short", "HEAD") == "wip"
    assert git(local_repo, "status", "--porcelain") == before_status
    # The copied ignored file does not show as a change of the task.
    assert await manager.diff_files(ws) == []
    await manager.remove(ws, force=True)
    assert git(local_repo, "symbolic-ref", "--short", "HEAD") == "wip"
    assert git(local_repo, "status", "--porcelain") == before_status
    assert f"worktree {away}" in git(local_repo, "worktree", "list", "--porcelain"), (
        "dropped the record of the user's own worktree"
    )
    assert "asynccoder/" not in git(local_repo, "branch", "--list")


async def test_setup_command_runs_in_the_workspace_with_a_log(
    manager: WorkspaceManager, origin: Path
) -> None:
    spec = RepoSpec(
        kind=RepoKind.GITHUB,
        clone_url=f"file://{origin}",
        full_name="acme/widgets",
        settings={"setup_command": "echo installing; mkdir -p build && echo ok > build/done"},
    )
    ws = await manager.prepare(spec, task_id="t1", slug="setup")
    assert (ws.path / "build" / "done").read_text() == "ok\n"
    assert ws.setup is not None and ws.setup.exit_code == 0
    assert ws.setup.log_path is not None
    log = ws.setup.log_path.read_text()
    assert "$ echo installing" in log and "installing" in log and "exit code 0" in log
    assert not ws.setup.log_path.is_relative_to(ws.path)
    assert await manager.diff_files(ws) == [], "build/ is ignored; the log is outside"


async def test_failing_setup_reports_and_is_retried(
    manager: WorkspaceManager, origin: Path
) -> None:
    failing = RepoSpec(
        kind=RepoKind.GITHUB,
        clone_url=f"file://{origin}",
        full_name="acme/widgets",
        settings={"setup_command": "echo npm ERR! missing thing; exit 3"},
    )
    with pytest.raises(WorkspaceError) as info:
        await manager.prepare(failing, task_id="t1", slug="s")
    text = str(info.value)
    assert "exited with code 3" in text and "npm ERR! missing thing" in text
    assert "t1-setup.log" in text
    assert await manager.open("t1") is None

    fixed = failing.model_copy(update={"settings": {"setup_command": "true"}})
    ws = await manager.prepare(fixed, task_id="t1", slug="s")
    assert ws.setup is not None and ws.setup.exit_code == 0


async def test_setup_timeout(manager: WorkspaceManager, origin: Path) -> None:
    spec = RepoSpec(
        kind=RepoKind.GITHUB,
        clone_url=f"file://{origin}",
        full_name="acme/widgets",
        settings={"setup_command": "sleep 30", "setup_timeout": 1},
    )
    started = time.monotonic()
    with pytest.raises(WorkspaceError, match="did not finish within 1 s"):
        await manager.prepare(spec, task_id="t1", slug="s")
    assert time.monotonic() - started < 10


async def test_follow_up_reuses_and_restart_reopens(
    manager: WorkspaceManager, github_spec: RepoSpec, paths: Paths
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="first")
    (ws.path / "work.txt").write_text("in progress\n")
    again = await manager.prepare(github_spec, task_id="t1", slug="renamed later")
    assert again.reused and again.path == ws.path and again.branch == ws.branch
    assert (again.path / "work.txt").read_text() == "in progress\n"

    restarted = WorkspaceManager(paths)
    reopened = await restarted.open("t1")
    assert reopened is not None
    assert (reopened.path, reopened.branch, reopened.base_sha) == (ws.path, ws.branch, ws.base_sha)
    assert await restarted.open("unknown") is None


async def test_retry_continues_the_branch_unless_fresh(
    manager: WorkspaceManager, github_spec: RepoSpec
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="retry")
    (ws.path / "kept.txt").write_text("from attempt one\n")
    assert await manager.commit(ws, "attempt one", model_name="m") is not None
    report = await manager.remove(ws, keep_branch=True)
    assert report.removed and not report.branch_deleted

    second = await manager.prepare(github_spec, task_id="t1", slug="retry")
    assert (second.path / "kept.txt").is_file()
    assert second.base_sha == ws.base_sha
    assert [c.path for c in await manager.diff_files(second)] == ["kept.txt"]

    fresh = await manager.prepare(github_spec, task_id="t1", slug="retry", fresh=True)
    assert not (fresh.path / "kept.txt").exists()
    assert await manager.diff_files(fresh) == []


async def test_git_ignores_a_dot_git_file_rewritten_by_the_agent(
    manager: WorkspaceManager, github_spec: RepoSpec, tmp_path: Path
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="x")
    marker = tmp_path / "fsmonitor-ran"
    evil = tmp_path / "evil-gitdir"
    git(tmp_path, "init", "-q", "--bare", str(evil))
    git(evil, "config", "core.fsmonitor", f"touch {marker}; false")
    (ws.path / ".git").write_text(f"gitdir: {evil}\n")
    (ws.path / "change.txt").write_text("agent work\n")

    changes = await manager.diff_files(ws)
    assert [c.path for c in changes] == ["change.txt"]
    info = await manager.commit(ws, "work", model_name="m")
    assert info is not None
    assert git(ws.common_dir, "rev-parse", f"refs/heads/{ws.branch}") == info.sha
    assert not marker.exists()
    # The pointer is restored, so a person running git in the folder is safe too.
    assert (ws.path / ".git").read_text() == f"gitdir: {ws.git_dir}\n"
    git(ws.path, "status")
    assert not marker.exists()


async def test_accepts_the_database_repository_model_and_settings(
    origin: Path, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Repository

    repository = Repository(
        id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        kind=RepoKind.GITHUB,
        name="widgets",
        full_name="acme/widgets",
        clone_url=f"file://{origin}",
        default_branch="main",
        settings={"setup_script": "echo from settings > setup.txt", "files_to_copy": []},
    )
    monkeypatch.setenv("ASYNCCODER_COMMIT_AUTHOR_NAME", "Settings Bot")
    manager = WorkspaceManager.from_settings(Settings(sandbox="none"), paths)
    assert manager.author_name == "Settings Bot" and manager.sandbox == "none"
    ws = await manager.prepare(repository, task_id=repository.id, slug="db model")
    assert ws.task_id == str(repository.id)
    assert (ws.path / "setup.txt").read_text() == "from settings\n"
    assert ws.repo.full_name == "acme/widgets"
