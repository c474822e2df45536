"""Commit, push, cleanup that never loses work, and orphans after a crash."""

from __future__ import annotations

import asyncio
import base64
import http.server
import logging
import os
import shutil
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from asynccoder_tui.config import Paths
from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.domain.errors import GitError, WorkspaceError
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager

from .conftest import git

TOKEN = "ghp_TopSecretToken1234567890"


async def test_commit_has_author_from_settings_and_assisted_by_trailer(
    paths: Paths, github_spec: RepoSpec
) -> None:
    manager = WorkspaceManager(paths, author_name="Ada Bot", author_email="ada@example.com")
    ws = await manager.prepare(github_spec, task_id="t1", slug="c")
    assert await manager.commit(ws, "Nothing yet", model_name="m") is None

    (ws.path / "src" / "app.py").write_text("changed\n")
    (ws.path / "notes.txt").write_text("new\n")
    (ws.path / ".env").write_text("IGNORED=1\n")
    info = await manager.commit(
        ws, "Rewrite the app\n\nBecause the task said so.", model_name="claude-sonnet-4-5"
    )
    assert info is not None
    assert (info.files_changed, info.added, info.removed) == (2, 2, 30)
    log = git(ws.common_dir, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", info.sha)
    author, committer, body = log.split("|")
    assert author == committer == "Ada Bot <ada@example.com>"
    assert body.strip() == (
        "Rewrite the app\n\nBecause the task said so.\n\nAssisted-by: claude-sonnet-4-5"
    )
    files = git(ws.common_dir, "show", "--name-only", "--format=", info.sha).splitlines()
    assert sorted(files) == ["notes.txt", "src/app.py"], "the ignored .env was committed"
    assert git(ws.common_dir, "rev-parse", f"refs/heads/{ws.branch}") == info.sha

    quiet = WorkspaceManager(paths, assisted_by=False)
    (ws.path / "more.txt").write_text("x\n")
    plain = await quiet.commit(ws, "No trailer please", model_name="gpt-x")
    assert plain is not None and "Assisted-by" not in plain.message


async def test_commit_runs_no_hooks_and_ignores_signing_config(
    manager: WorkspaceManager, local_repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "hook-ran"
    hook = local_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(local_repo, "config", "commit.gpgsign", "true")
    git(local_repo, "config", "gpg.program", "false")
    spec = RepoSpec(kind=RepoKind.LOCAL, local_path=str(local_repo), default_branch="main")
    ws = await manager.prepare(spec, task_id="t1", slug="h")
    (ws.path / "x.txt").write_text("x\n")
    assert await manager.commit(ws, "with hooks around", model_name="m") is not None
    assert not marker.exists()


async def test_push_to_the_bare_origin_then_cleanup(
    manager: WorkspaceManager, github_spec: RepoSpec, origin: Path
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="push")
    with pytest.raises(WorkspaceError, match="no commits to push"):
        await manager.push(ws)
    (ws.path / "feature.txt").write_text("feature\n")
    info = await manager.commit(ws, "Add feature", model_name="m")
    assert info is not None
    state = await manager.work_state(ws)
    assert state.unpushed_commits == 1 and state.dirty_files == []

    result = await manager.push(ws)
    assert result.sha == info.sha
    assert git(origin, "rev-parse", f"refs/heads/{ws.branch}") == info.sha
    assert (await manager.work_state(ws)).clean

    report = await manager.remove(ws)
    assert report.removed and report.branch_deleted
    assert not ws.path.exists()
    assert ws.branch not in git(ws.common_dir, "branch", "--list")
    assert await manager.open("t1") is None


async def test_workspace_with_unsaved_work_survives_cleanup(
    manager: WorkspaceManager, github_spec: RepoSpec
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="keep")
    (ws.path / "done.txt").write_text("committed, not pushed\n")
    await manager.commit(ws, "Work", model_name="m")
    (ws.path / "draft.txt").write_text("not even committed\n")

    with pytest.raises(WorkspaceError) as info:
        await manager.remove(ws)
    assert "1 uncommitted file(s) and 1 commit(s) not pushed anywhere" in str(info.value)
    assert (ws.path / "draft.txt").is_file() and await manager.open("t1") is not None

    (ws.path / "draft.txt").unlink()
    with pytest.raises(WorkspaceError, match="1 commit"):
        await manager.remove(ws)
    assert ws.path.is_dir()

    # Keeping the branch keeps the commits: the folder may go.
    report = await manager.remove(ws, keep_branch=True)
    assert report.removed and not report.branch_deleted and not ws.path.exists()
    assert git(ws.common_dir, "rev-parse", f"refs/heads/{ws.branch}")


async def test_forced_cleanup_discards_and_says_so(
    manager: WorkspaceManager, github_spec: RepoSpec
) -> None:
    ws = await manager.prepare(github_spec, task_id="t1", slug="force")
    (ws.path / "a.txt").write_text("a\n")
    await manager.commit(ws, "a", model_name="m")
    (ws.path / "b.txt").write_text("b\n")
    report = await manager.remove(ws, force=True)
    assert (report.discarded_files, report.discarded_commits, report.branch_deleted) == (1, 1, True)
    assert not ws.path.exists()


class RecordingGitServer:
    """An HTTP server that records Authorization headers and refuses every request (401)."""

    def __init__(self, redirect_to: str | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.seen.append((self.path, self.headers.get("Authorization")))
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to + self.path)
                else:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[RecordingGitServer]:
    server = RecordingGitServer()
    yield server
    server.close()


def files_containing(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            hits.append(path)
    return hits


async def test_push_token_goes_in_a_header_never_argv_disk_or_errors(
    manager: WorkspaceManager,
    local_repo: Path,
    recorder: RecordingGitServer,
    paths: Paths,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    remote = f"http://127.0.0.1:{recorder.port}/acme/widgets.git"
    git(local_repo, "remote", "set-url", "origin", remote)
    spec = RepoSpec(kind=RepoKind.LOCAL, local_path=str(local_repo), default_branch="main")
    ws = await manager.prepare(spec, task_id="t1", slug="token")
    (ws.path / "f.txt").write_text("f\n")
    await manager.commit(ws, "f", model_name="m")

    argvs: list[tuple[str, ...]] = []
    real_exec = asyncio.create_subprocess_exec

    async def spy(program: str, *args: str, **kwargs: object) -> asyncio.subprocess.Process:
        argvs.append((program, *args))
        return await real_exec(program, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GitError) as info:
        await manager.push(ws, TOKEN)
    monkeypatch.undo()
    assert "git push --porcelain" in caplog.text, "the push was not logged at all"
    assert TOKEN not in caplog.text

    expected = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert recorder.seen and all(auth == expected for _, auth in recorder.seen)
    assert any(argv[0] == "git" and "push" in argv for argv in argvs)
    assert not [argv for argv in argvs if any(TOKEN in a or expected in a for a in argv)]
    message = str(info.value)
    assert TOKEN not in message and expected.split()[1] not in message
    assert "cannot push asynccoder/t1-token" in message and "credentials" in message
    for root in (paths.data_dir, local_repo):
        assert files_containing(root, TOKEN.encode()) == []
        assert files_containing(root, expected.split()[1].encode()) == []


async def test_fetch_token_is_not_sent_to_another_host_on_redirect(
    manager: WorkspaceManager, recorder: RecordingGitServer
) -> None:
    redirecting = RecordingGitServer(redirect_to=f"http://localhost:{recorder.port}")
    try:
        spec = RepoSpec(
            kind=RepoKind.GITHUB,
            clone_url=f"http://127.0.0.1:{redirecting.port}/acme/widgets.git",
            full_name="acme/widgets",
        )
        with pytest.raises(WorkspaceError) as info:
            await manager.prepare(spec, task_id="t1", slug="r", token=TOKEN)
        assert TOKEN not in str(info.value)
        assert redirecting.seen and redirecting.seen[0][1] is not None
        assert recorder.seen, "the redirect was not followed"
        assert all(auth is None for _, auth in recorder.seen)
    finally:
        redirecting.close()


CRASH_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from asynccoder_tui.config import Paths
    from asynccoder_tui.vcs.spec import RepoSpec
    from asynccoder_tui.vcs.workspace import WorkspaceManager

    paths = Paths.model_validate_json(sys.argv[1])
    spec = RepoSpec.model_validate_json(sys.argv[2])
    asyncio.run(WorkspaceManager(paths, sandbox="none").prepare(spec, task_id="crash", slug="c"))
    """
)


async def test_orphan_of_a_killed_worker_is_found_and_reclaimed(paths: Paths, origin: Path) -> None:
    spec = RepoSpec(
        kind=RepoKind.GITHUB,
        clone_url=f"file://{origin}",
        full_name="acme/widgets",
        settings={"setup_command": "touch started; sleep 60"},
    )
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASH_SCRIPT, paths.model_dump_json(), spec.model_dump_json(),
        start_new_session=True,
    )  # fmt: skip
    started = paths.workspaces / "crash" / "started"
    for _ in range(300):
        if started.exists():
            break
        await asyncio.sleep(0.05)
    assert started.exists(), "the worker never reached its setup command"
    manager = WorkspaceManager(paths)
    assert await manager.find_orphans() == [], "a live worker's workspace is not an orphan"

    os.killpg(worker.pid, signal.SIGKILL)
    await worker.wait()

    orphans = await manager.find_orphans()
    assert [(o.task_id, o.reason) for o in orphans] == [("crash", "interrupted")]
    assert orphans[0].safe_to_reclaim
    assert await manager.reclaim(orphans[0])
    assert not (paths.workspaces / "crash").exists()
    mirror = orphans[0].common_dir
    assert mirror is not None
    assert "crash" not in git(mirror, "worktree", "list")
    assert "asynccoder/crash" not in git(mirror, "branch", "--list")
    assert await manager.find_orphans() == []


async def test_missing_folders_inactive_tasks_and_unknown_folders(
    manager: WorkspaceManager, github_spec: RepoSpec, paths: Paths
) -> None:
    gone = await manager.prepare(github_spec, task_id="gone", slug="g")
    (gone.path / "work.txt").write_text("committed\n")
    await manager.commit(gone, "work", model_name="m")
    shutil.rmtree(gone.path)

    idle = await manager.prepare(github_spec, task_id="idle", slug="i")
    (idle.path / "unsaved.txt").write_text("unsaved\n")
    done = await manager.prepare(github_spec, task_id="done", slug="d")
    active = await manager.prepare(github_spec, task_id="active", slug="a")
    (paths.workspaces / "stray").mkdir()

    orphans = {o.task_id: o for o in await manager.find_orphans(active_task_ids={"active"})}
    assert {k: o.reason for k, o in orphans.items()} == {
        "gone": "missing_folder",
        "idle": "inactive_task",
        "done": "inactive_task",
        "stray": "unknown_folder",
    }
    assert orphans["idle"].dirty_files == 1 and not orphans["idle"].safe_to_reclaim
    assert orphans["done"].safe_to_reclaim

    assert await manager.reclaim(orphans["gone"])
    assert git(gone.common_dir, "rev-parse", f"refs/heads/{gone.branch}"), "lost commits"
    assert not await manager.reclaim(orphans["idle"])
    assert (idle.path / "unsaved.txt").is_file()
    assert await manager.reclaim(orphans["done"])
    assert not done.path.exists()
    assert not await manager.reclaim(orphans["stray"])
    assert await manager.reclaim(orphans["stray"], force=True)
    assert not (paths.workspaces / "stray").exists()
    assert active.path.is_dir()
    left = {o.task_id for o in await manager.find_orphans(active_task_ids={"active"})}
    assert left == {"idle"}


async def test_commit_refuses_an_unresolved_merge_conflict(
    paths: Paths, github_spec: RepoSpec
) -> None:
    """A plan's conflict left in the workspace to resolve is never committed with its
    markers (opening the pull request would have concluded the merge as it stood)."""
    from asynccoder_tui.domain.errors import ConflictError

    manager = WorkspaceManager(paths, author_name="Ada Bot", author_email="ada@example.com")
    ws = await manager.prepare(github_spec, task_id="t-conflict", slug="c")
    git(ws.path, "checkout", "-q", "-b", "other")
    (ws.path / "README.md").write_text("# One way\n")
    git(ws.path, "commit", "-q", "-am", "one way")
    git(ws.path, "checkout", "-q", ws.branch)
    (ws.path / "README.md").write_text("# Another way\n")
    git(ws.path, "commit", "-q", "-am", "another way")
    head = git(ws.path, "rev-parse", "HEAD")
    with pytest.raises(AssertionError):
        git(ws.path, "merge", "-q", "other")  # conflicts: the markers stay in README.md

    with pytest.raises(ConflictError, match=r"conflict in README\.md") as refused:
        await manager.commit(ws, "Publish it", model_name="m")
    assert refused.value.hint and "resolve" in refused.value.hint
    assert git(ws.path, "rev-parse", "HEAD") == head
    assert "<<<<<<<" in (ws.path / "README.md").read_text()

    (ws.path / "README.md").write_text("# Both ways\n")  # resolved: the merge can be committed
    info = await manager.commit(ws, "Publish it", model_name="m")
    assert info is not None
    assert git(ws.path, "rev-parse", "HEAD^2") == git(ws.path, "rev-parse", "other")
