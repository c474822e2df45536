"""Finding and reclaiming workspaces a crash or a finished task left behind.

Kinds of orphan, found from the workspace records, the folders under `Paths.workspaces` and
`git worktree list` of every repository a record names (and every cache clone):

- "interrupted": a record that never reached "ready" and whose preparing lock no live process
  holds (the worker died during `git worktree add` or setup);
- "missing_folder": a workspace whose folder is gone (git lists it as prunable);
- "unknown_folder": a folder under the workspaces directory with no record;
- "inactive_task": a ready workspace whose task is not among the active ones the caller named.

Reclaiming never loses work silently: commits that only the task branch holds keep the branch;
an inactive workspace with uncommitted or unpushed work is kept unless forced; an unknown
folder is only deleted when forced.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from asynccoder_tui.domain.errors import WorkspaceError
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.locks import try_hold_file
from asynccoder_tui.vcs.records import WorkspaceRecord
from asynccoder_tui.vcs.spec import local_repo_key
from asynccoder_tui.vcs.worktrees import drop_worktree, rmtree

if TYPE_CHECKING:
    from asynccoder_tui.vcs.workspace import WorkspaceManager

OrphanReason = Literal["interrupted", "missing_folder", "unknown_folder", "inactive_task"]


@dataclass(frozen=True)
class Orphan:
    task_id: str | None
    path: Path
    reason: OrphanReason
    detail: str
    common_dir: Path | None = None
    branch: str | None = None
    dirty_files: int = 0
    unpushed_commits: int = 0

    @property
    def safe_to_reclaim(self) -> bool:
        """True when reclaiming loses nothing (commits only the branch holds are kept)."""
        if self.reason == "unknown_folder":
            return False
        return self.dirty_files == 0 and self.unpushed_commits == 0


async def find(manager: WorkspaceManager, active: set[str] | None) -> list[Orphan]:
    records = await asyncio.to_thread(manager.records.all)
    known = {record.task_id: record for record in records}
    found: list[Orphan] = []
    for record in records:
        orphan = await _check_record(manager, record, active)
        if orphan is not None:
            found.append(orphan)
    found += await asyncio.to_thread(_unknown_folders, manager.root, known)
    found += await _prunable(manager, records, known)
    return found


async def _check_record(
    manager: WorkspaceManager, record: WorkspaceRecord, active: set[str] | None
) -> Orphan | None:
    tid = record.task_id
    if record.state != "ready" or record.workspace is None:
        with try_hold_file(manager.locks.path_for(f"ws-{tid}")) as free:
            if not free:
                return None  # a live process is preparing it right now
        return Orphan(
            tid, record.path, "interrupted",
            f"preparation stopped while {record.state} (process {record.pid} on {record.host})",
            record.common_dir, record.branch,
        )  # fmt: skip
    ws = record.workspace
    if not ws.path.is_dir():
        return Orphan(tid, ws.path, "missing_folder", "the worktree folder is gone",
                      ws.common_dir, ws.branch)  # fmt: skip
    if active is not None and tid not in active:
        state = await manager.work_state(ws)
        return Orphan(
            tid, ws.path, "inactive_task", "no active task uses this workspace",
            ws.common_dir, ws.branch, len(state.dirty_files), state.unpushed_commits,
        )  # fmt: skip
    return None


def _unknown_folders(root: Path, known: dict[str, WorkspaceRecord]) -> list[Orphan]:
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.name in known or not entry.is_dir():
            continue
        common: Path | None = None
        pointer = entry / ".git"
        if pointer.is_file():
            text = pointer.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                admin = Path(text.removeprefix("gitdir:").strip())
                common = admin.parent.parent if admin.parent.name == "worktrees" else None
        found.append(Orphan(entry.name, entry, "unknown_folder",
                            "a folder in the workspaces directory with no record", common))  # fmt: skip
    return found


async def _prunable(
    manager: WorkspaceManager, records: list[WorkspaceRecord], known: dict[str, WorkspaceRecord]
) -> list[Orphan]:
    """Worktrees of our folder that git knows but whose folder and record are both gone."""
    repos = {r.common_dir for r in records if r.common_dir is not None}
    if manager.paths.mirrors.is_dir():
        repos |= {p for p in manager.paths.mirrors.glob("*.git") if (p / "HEAD").is_file()}
    root = manager.root.resolve()
    found = []
    for common in sorted(repos):
        if not common.is_dir():
            continue
        listing = await Git(git_dir=common, cwd=common).run(
            "worktree", "list", "--porcelain", "-z", check=False
        )
        for entry in _parse_worktrees(listing.stdout):
            path = Path(entry.get("worktree", ""))
            if path.parent != root or path.name in known:
                continue
            if await asyncio.to_thread(path.exists):
                continue
            branch = entry.get("branch", "").removeprefix("refs/heads/") or None
            found.append(Orphan(path.name, path, "missing_folder",
                                "git lists a worktree whose folder and record are gone",
                                common, branch))  # fmt: skip
    return found


def _parse_worktrees(output: bytes) -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for field in output.split(b"\0"):
        if not field:
            if current:
                entries.append(current)
                current = {}
            continue
        key, _, value = field.decode("utf-8", "surrogateescape").partition(" ")
        current[key] = value
    if current:
        entries.append(current)
    return entries


async def reclaim(manager: WorkspaceManager, orphan: Orphan, *, force: bool = False) -> bool:
    if orphan.reason == "inactive_task":
        ws = await manager.open(orphan.task_id) if orphan.task_id else None
        if ws is None:
            return False
        try:
            await manager.remove(ws, force=force)
        except WorkspaceError:
            return False
        return True
    if orphan.reason == "unknown_folder" and not force:
        return False
    if orphan.common_dir is not None and orphan.common_dir.is_dir():
        await _drop_worktree(manager, orphan)
    elif await asyncio.to_thread(orphan.path.exists):
        await asyncio.to_thread(rmtree, orphan.path)
    if orphan.task_id:
        await asyncio.to_thread(manager._forget, orphan.task_id)
    return True


async def _drop_worktree(manager: WorkspaceManager, orphan: Orphan) -> None:
    common = orphan.common_dir
    assert common is not None
    git = Git(git_dir=common, cwd=common)
    async with manager.locks.hold(_lock_key(manager, orphan), wait=manager.lock_wait):
        await drop_worktree(git, orphan.path)
        if orphan.branch:
            ref = f"refs/heads/{orphan.branch}"
            if await git.succeeds("rev-parse", "--verify", "-q", ref):
                held_elsewhere = await git.text(
                    "rev-list", "--count", ref, "--not", f"--exclude={orphan.branch}",
                    "--branches", "--remotes",
                )  # fmt: skip
                if int(held_elsewhere or 0) == 0:
                    await git.run("branch", "-D", "--", orphan.branch)


def _lock_key(manager: WorkspaceManager, orphan: Orphan) -> str:
    """The same lock key `prepare` takes for this repository."""
    record = manager.records.load(orphan.task_id) if orphan.task_id else None
    if record is not None:
        return record.repo.key
    common = orphan.common_dir
    assert common is not None
    if common.parent == manager.paths.mirrors:
        return common.name.removesuffix(".git")
    return local_repo_key(common.parent if common.name == ".git" else common)
