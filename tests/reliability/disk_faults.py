"""Disk full and permission denied, in the workspaces, the data directory and the logs.

The faults are real: a tiny tmpfs mounted over a folder (`No space left on device`), a
read-only bind mount (`Read-only file system`), and `chattr +i` (`Operation not permitted`:
as root, mode bits deny nothing, so the immutable flag stands in for "permission denied").
Mounting needs root and CAP_SYS_ADMIN; where that is missing the round is skipped and says so.

Each case runs one task (or one operation) under its fault and checks that it ends with an
error in words that names the cause, and that nothing else is harmed: the user's repository
is unchanged, the database invariants hold, and once the fault is gone a new task completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asynccoder_tui.db import repositories
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import (
    finish,
    git,
    make_repository,
    plan_model,
    poll,
    quick_settings,
    running_pool,
    top_up,
    wait_final,
)
from tests.reliability.invariants import database_problems

ENOSPC = "No space left on device"
FULL = (ENOSPC, "is full (")
EROFS = "Read-only file system"
EPERM = "Operation not permitted"


def mount_problem() -> str | None:
    """Why tmpfs and bind mounts cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    probe = Path(f"/tmp/ac-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            return f"mount is not permitted here: {done.stderr.strip()}"
        subprocess.run(["umount", "-l", str(probe)], check=False)
        return None
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size: str) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True
    )
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@dataclass
class DiskCase:
    name: str
    mechanism: str
    outcome: str = ""
    problems: list[str] = field(default_factory=list)
    recovery: list[str] = field(default_factory=list)
    """What the fault harmed beyond its own task (the repository, the next task)."""


@dataclass
class DiskReport:
    cases: list[DiskCase] = field(default_factory=list)
    skipped: str | None = None
    database: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.skipped:
            return f"disk_faults: skipped ({self.skipped})"
        failed = sum(1 for c in self.cases if c.problems and c.name not in KNOWN)
        known = sum(1 for c in self.cases if c.problems and c.name in KNOWN)
        harmed = sum(1 for c in self.cases if c.recovery)
        mechanisms = sorted({c.mechanism for c in self.cases})
        return (
            f"disk_faults: {len(self.cases)} cases ({', '.join(mechanisms)}), {failed} failed, "
            f"{known} known defects in others' code, {harmed} harmed the repository or the next "
            f"task, {len(self.database)} database problems"
        )

    def problems(self, *, leave_out: tuple[str, ...] = ()) -> list[str]:
        found = [
            f"{c.name}: {p}"
            for c in self.cases
            if c.name not in leave_out
            for p in [*c.problems, *c.recovery]
        ]
        return found + self.database


class _Round:
    def __init__(self, ctx: AppContext, workdir: Path) -> None:
        self.ctx = ctx
        self.workdir = workdir
        self.paths = ctx.settings.paths
        self.report = DiskReport()

    async def run_task(self, root: object, model: str, prompt: str, **kw: Any) -> Any:
        task = await task_service.submit(
            self.ctx,
            task_service.SubmitRequest(repository=str(root), prompt=prompt, model=model, **kw),
        )
        async with running_pool(self.ctx, concurrency=1):
            return await wait_final(self.ctx, task.id)

    async def check_recovery(self, case: DiskCase, root: Path, heads: str) -> None:
        """The user's repository is as it was, and a new task completes."""
        if git(root, "status", "--porcelain") != "":
            case.recovery.append(
                f"the repository has changes: {git(root, 'status', '--porcelain')}"
            )
        if git(root, "rev-parse", "refs/heads/main") != heads:
            case.recovery.append("the repository's main branch moved")
        fsck = await asyncio.to_thread(
            subprocess.run,
            ["git", "fsck", "--no-dangling"], cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if fsck.returncode != 0:
            case.recovery.append(f"git fsck: {fsck.stderr.strip()[:300]}")
        healthy = await self.run_task(root, "scripted:echo", f"after {case.name}")
        if healthy.status.value != "completed":
            case.recovery.append(
                f"a task after the fault ended {healthy.status.value}: {healthy.error}"
            )

    def expect_failed(self, case: DiskCase, task: Any, words: str | tuple[str, ...]) -> None:
        case.outcome = f"{task.status.value}: {task.error}"
        said = (words,) if isinstance(words, str) else words
        if task.status.value != "failed":
            case.problems.append(f"expected failed, got {task.status.value}: {task.error}")
        elif not any(w in (task.error or "") for w in said):
            case.problems.append(f"the error does not say {' or '.join(said)!r}: {task.error!r}")
        elif "Traceback" in (task.error or "") or "internal error" in (task.error or ""):
            case.problems.append(f"the error is not in words: {task.error!r}")


async def disk_fault_round(db_url: str, workdir: Path, *, only: tuple[str, ...] = ()) -> DiskReport:
    """Every case (or those named in `only`)."""
    problem = mount_problem()
    if problem is not None:
        return DiskReport(skipped=problem)
    ctx = await AppContext.open(quick_settings(db_url, lease_seconds=10))
    try:
        await top_up(ctx)
        rnd = _Round(ctx, workdir)
        root = make_repository(
            workdir / "project",
            {"README.md": "# Project\n", "blob.bin": os.urandom(600_000)},
        )
        await repos.add_repo(ctx, str(root))
        heads = git(root, "rev-parse", "refs/heads/main")
        for case in _CASES:
            result = DiskCase(case_name(case), "")
            if only and result.name not in only:
                continue
            try:
                await case(rnd, result, root)
            except Exception as err:  # a case that blew up is a failed case, with its reason
                result.problems.append(f"raised {type(err).__name__}: {err}")
            await rnd.check_recovery(result, root, heads)
            rnd.report.cases.append(result)
        rnd.report.database = await database_problems(ctx.db.pool)
        return rnd.report
    finally:
        await ctx.close()


async def _case_workspaces_on_a_full_disk(rnd: _Round, case: DiskCase, root: Path) -> None:
    case.mechanism = "tmpfs 256k"
    with tiny_tmpfs(rnd.paths.workspaces, "256k"):
        task = await rnd.run_task(root, "scripted:echo", "no room for the checkout", max_attempts=2)
    rnd.expect_failed(case, task, FULL)


async def _case_workspaces_read_only(rnd: _Round, case: DiskCase, root: Path) -> None:
    case.mechanism = "read-only bind mount"
    with read_only(rnd.paths.workspaces):
        task = await rnd.run_task(root, "scripted:echo", "a read-only data dir", max_attempts=1)
    rnd.expect_failed(case, task, EROFS)


async def _case_workspaces_not_permitted(rnd: _Round, case: DiskCase, root: Path) -> None:
    case.mechanism = "chattr +i"
    with immutable(rnd.paths.workspaces):
        task = await rnd.run_task(root, "scripted:echo", "an immutable data dir", max_attempts=1)
    rnd.expect_failed(case, task, EPERM)


async def _case_workspace_fills_up_while_the_agent_works(
    rnd: _Round, case: DiskCase, root: Path
) -> None:
    """The agent's own writes fail with the disk full: it is told in words, and the task
    ends (the scripted agent then finishes with what it has)."""
    case.mechanism = "tmpfs 3m"
    model = plan_model(rnd.workdir, "fill", [
        {"text": "Filling the disk.", "tool_calls": [
            {"name": "run", "arguments": {"command": "dd if=/dev/zero of=fill bs=1M count=8"}}]},
        {"text": "Writing a note.", "tool_calls": [
            {"name": "create", "arguments": {"path": "after.txt", "content": "x" * 2000}}]},
        {"text": "Making room.", "tool_calls": [{"name": "run", "arguments": {"command": "rm fill"}}]},
        finish("filled"),
    ])  # fmt: skip
    with tiny_tmpfs(rnd.paths.workspaces, "3m"):
        task = await rnd.run_task(root, model, "fill the disk", max_attempts=1)
        events = await task_service.transcript(rnd.ctx, task.id)
    results = [e.payload for e in events if e.kind.value == "tool_result"]
    case.outcome = (
        f"{task.status.value}; tool results: {[(r.get('name'), r.get('ok')) for r in results]}"
    )
    if task.status.value != "completed":
        case.problems.append(f"ended {task.status.value}: {task.error}")
    said = [str(r.get("output", "")) for r in results[:2]]
    if not all(ENOSPC in text for text in said):
        case.problems.append(f"the agent was not told the disk is full: {said}")


async def _case_commit_into_a_read_only_repository(rnd: _Round, case: DiskCase, root: Path) -> None:
    """The repository's object store turns read-only while the agent works: the commit
    fails, and the task fails saying so."""
    case.mechanism = "read-only bind mount"
    model = plan_model(rnd.workdir, "commit", [
        {"text": "Waiting.", "tool_calls": [{"name": "run", "arguments": {"command": "sleep 1"}}]},
        {"text": "Writing.", "tool_calls": [
            {"name": "create", "arguments": {"path": "new.txt", "content": "new\n"}}]},
        finish("written"),
    ])  # fmt: skip
    task = await task_service.submit(
        rnd.ctx,
        task_service.SubmitRequest(repository=str(root), prompt="commit", model=model, max_attempts=1),
    )  # fmt: skip
    objects = root / ".git" / "objects"
    async with running_pool(rnd.ctx, concurrency=1):

        async def sleeping() -> bool:
            events = await task_service.transcript(rnd.ctx, task.id)
            return any(e.kind.value == "tool_call" for e in events)

        await poll(sleeping, timeout=60, what="the agent's first command")
        with read_only(objects):
            done = await wait_final(rnd.ctx, task.id)
    rnd.expect_failed(case, done, EROFS)


async def _case_cache_full_for_a_remote_repository(rnd: _Round, case: DiskCase, root: Path) -> None:
    """A remote repository's cache clone cannot be fetched into a full cache."""
    case.mechanism = "tmpfs 128k"
    origin = rnd.workdir / "origin.git"
    if not origin.exists():
        git(rnd.workdir, "clone", "-q", "--bare", str(root), str(origin))
    repo = await repositories.upsert_github(
        rnd.ctx.db.pool, rnd.ctx.user.id, full_name="acme/disk", github_id=4242,
        clone_url=str(origin), default_branch="main", language=None, private=False,
    )  # fmt: skip
    with tiny_tmpfs(rnd.paths.mirrors, "128k"):
        task = await rnd.run_task(repo.id, "scripted:echo", "into a full cache", max_attempts=1)
    rnd.expect_failed(case, task, FULL)


async def _case_log_file_on_a_full_disk(rnd: _Round, case: DiskCase, root: Path) -> None:
    """The log file cannot be written (full, or read-only): work goes on, nothing raises, and
    no traceback per log line is printed over the terminal."""
    from asynccoder_tui.logs import setup_logging

    case.mechanism = "tmpfs 64k"
    log_dir = rnd.workdir / "full-logs"
    locked_dir = rnd.workdir / "locked-logs"
    root_logger = logging.getLogger()
    saved = (list(root_logger.handlers), root_logger.level)
    stderr = rnd.workdir / "stderr.txt"
    try:
        with read_only(locked_dir):
            refused = setup_logging(locked_dir / "asynccoder.log")
        if not refused or EROFS not in refused:
            case.problems.append(f"a read-only log folder was not reported: {refused!r}")
        with tiny_tmpfs(log_dir, "64k"), _capture_stderr(stderr):
            setup_logging(log_dir / "asynccoder.log")
            with contextlib.suppress(OSError):
                (log_dir / "filler").write_bytes(b"\0" * 100_000)
            for number in range(50):
                logging.getLogger("asynccoder.reliability").warning("line %d %s", number, "x" * 500)
            task = await rnd.run_task(root, "scripted:echo", "log into a full disk")
            for handler in list(root_logger.handlers):
                root_logger.removeHandler(handler)
                handler.close()
    finally:
        for handler in saved[0]:
            root_logger.addHandler(handler)
        root_logger.setLevel(saved[1])
    case.outcome = f"{task.status.value}; read-only folder: {refused}"
    if task.status.value != "completed":
        case.problems.append(f"ended {task.status.value}: {task.error}")
    noise = stderr.read_text(errors="replace")
    if "Logging error" in noise or "Traceback" in noise:
        case.problems.append(f"failed log writes printed tracebacks: {noise[:300]!r}")


@contextlib.contextmanager
def _capture_stderr(target: Path) -> Iterator[None]:
    """Redirect file descriptor 2 (what a logging error would print over the UI)."""
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with target.open("wb") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


async def _case_token_store_read_only(rnd: _Round, case: DiskCase, root: Path) -> None:
    """Saving a GitHub token when the data directory is read-only: a clear error."""
    from asynccoder_tui.domain.errors import AsyncCoderError
    from asynccoder_tui.services.github import save_token

    case.mechanism = "read-only bind mount"
    key_file = rnd.paths.key_file
    moved = None
    if key_file.exists():
        moved = key_file.with_suffix(".saved")
        shutil.move(key_file, moved)
    try:
        with read_only(rnd.paths.data_dir):
            try:
                await save_token(rnd.ctx, "ghp_ReliabilityDiskCase000000000000000")
            except AsyncCoderError as err:
                case.outcome = f"refused: {err}"
                if EROFS not in str(err):
                    case.problems.append(f"the error does not say {EROFS!r}: {err}")
            except Exception as err:
                case.problems.append(f"not a clear error: {type(err).__name__}: {err}")
            else:
                case.problems.append("the token was saved into a read-only data directory")
    finally:
        if moved is not None:
            shutil.move(moved, key_file)


def case_name(case: Any) -> str:
    return str(case.__name__).removeprefix("_case_").replace("_", " ")


_CASES = [
    _case_workspaces_on_a_full_disk,
    _case_workspaces_read_only,
    _case_workspaces_not_permitted,
    _case_workspace_fills_up_while_the_agent_works,
    _case_commit_into_a_read_only_repository,
    _case_cache_full_for_a_remote_repository,
    _case_log_file_on_a_full_disk,
    _case_token_store_read_only,
]
COMMIT_CASE = case_name(_case_commit_into_a_read_only_repository)
KNOWN: tuple[str, ...] = ()
"""Cases that fail because of a defect in code this suite does not own (each then a strict
xfail in test_disk_faults.py saying which); none at present."""
