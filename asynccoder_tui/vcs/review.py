"""Reading a workspace's changes lazily and applying a reviewer's decisions.

The diff is the workspace's files now (commits, edits and untracked files alike) against the
commit the branch started from. Reading it never touches the workspace's own index: each call
copies the index to a private file, marks untracked (not ignored) files intent-to-add there, and
asks git with `GIT_INDEX_FILE` pointing at the copy. So:

- `list_changes` is a tree-level diff (`--raw`): it reads no file content except to pair
  renames, which is what lets a 100,000-line diff list its 2,000 files at once;
- `file_diff` reads one file's hunks; `diff_stats` (per-file +/- counts, binary flags) and
  `full_patch` read everything and are meant to fill in after the first screen.

Reverts change only the working tree: a hunk is reverse-applied with `git apply -R`, a file is
restored from the base commit (or deleted, when the task added it). Paths are checked against
the current change list, and nothing is followed out of the workspace through a symlink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from asynccoder_tui.domain.errors import ConflictError, InputError, WorkspaceError
from asynccoder_tui.vcs.diff import (
    ChangeKind,
    DiffStats,
    FileChange,
    FileDiff,
    parse_file_patch,
    parse_numstat,
    parse_raw,
    reverse_patch_for_hunk,
)
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.nested import has_commit, split_untracked
from asynccoder_tui.vcs.spec import Workspace

log = logging.getLogger(__name__)

_DIFF_FLAGS = ("--no-ext-diff", "--no-textconv", "--no-color", "-M", "--full-index")
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def workspace_git(ws: Workspace, timeout: float = 300.0) -> Git:
    """A `Git` bound to the workspace through its private git folder, not its `.git` file."""
    if not ws.path.is_dir():
        raise WorkspaceError(
            f"workspace {ws.path} is missing",
            hint="it was removed; start the task again to get a new workspace",
        )
    _repair_dot_git(ws)
    return Git(git_dir=ws.git_dir, work_tree=ws.path, timeout=timeout)


def _repair_dot_git(ws: Workspace) -> None:
    """Put back the worktree's `.git` pointer if a command replaced it.

    We never use it (git gets `--git-dir`), but a person running git in the folder would, and
    a pointer to a planted repository could run that repository's configured commands.
    """
    pointer = ws.path / ".git"
    expected = f"gitdir: {ws.git_dir}\n"
    try:
        if pointer.is_file() and not pointer.is_symlink() and pointer.read_text() == expected:
            return
        if pointer.is_dir() and not pointer.is_symlink():
            shutil.rmtree(pointer)
        else:
            pointer.unlink(missing_ok=True)
        pointer.write_text(expected)
    except OSError as err:
        raise WorkspaceError(f"cannot repair {pointer}: {err.strerror}") from err
    log.warning("restored the .git pointer of workspace %s", ws.path)


@contextlib.asynccontextmanager
async def snapshot_index(
    ws: Workspace, git: Git, paths: Sequence[str] | None = None
) -> AsyncIterator[dict[str, str]]:
    """A private index for one read: the workspace's index plus intent-to-add untracked files.

    Yields the environment to give git. `paths` limits the untracked scan to those paths.
    """
    index, copied = await asyncio.to_thread(_copy_index, ws.git_dir)
    try:
        env = {**_LITERAL, "GIT_INDEX_FILE": str(index)}
        if not copied:
            await git.run("read-tree", "HEAD", env=env)
        untracked = b""
        if paths is None or paths:
            args = ["ls-files", "-z", "--others", "--exclude-standard"]
            if paths is not None:
                args += ["--", *paths]
            untracked = (await git.run(*args, env=env)).stdout
        addable, _unborn = await asyncio.to_thread(split_untracked, ws.path, untracked)
        if addable:
            await git.run(
                "add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul",
                input=b"\0".join(addable), env=env,
            )  # fmt: skip
        yield env
    finally:
        await asyncio.to_thread(index.unlink, missing_ok=True)


def _copy_index(git_dir: Path) -> tuple[Path, bool]:
    """A private copy of the worktree's index (path, whether there was one to copy)."""
    scratch = git_dir / "asynccoder"
    scratch.mkdir(exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="index-", dir=scratch)
    os.close(fd)
    index = Path(name)
    source = git_dir / "index"
    if source.is_file():
        # copy2 keeps the modification time: git compares it with each entry's to spot
        # "racily clean" entries, files changed in the same second the index was written.
        shutil.copy2(source, index)
        return index, True
    index.unlink()
    return index, False


async def list_changes(ws: Workspace, git: Git) -> list[FileChange]:
    """Changed files (paths, kind, modes), without reading their content.

    Tracked changes (`git diff --raw`, which refreshes stat data first, so a file touched
    without a content change is not listed) and untracked files (`ls-files --others`) are
    asked for at once. Only when the task both deleted and created files is the diff taken
    again with the new files intent-to-add, so that git can pair renames.
    """
    tracked, untracked = await asyncio.gather(
        git.run("diff", "--raw", "-z", *_DIFF_FLAGS, ws.base_sha, env=_LITERAL),
        git.run("ls-files", "-z", "--others", "--exclude-standard", env=_LITERAL),
    )
    changes = parse_raw(tracked.stdout)
    new = [os.fsdecode(p) for p in untracked.stdout.split(b"\0") if p]
    if new and any(c.kind is ChangeKind.DELETED for c in changes):
        async with snapshot_index(ws, git) as env:
            out = (await git.run("diff", "--raw", "-z", *_DIFF_FLAGS, ws.base_sha, env=env)).stdout
        changes = parse_raw(out)
    elif new:
        changes += await asyncio.to_thread(_untracked_changes, ws.path, new)
    return sorted(changes, key=lambda c: c.path)


def _untracked_changes(root: Path, paths: list[str]) -> list[FileChange]:
    """Untracked files as added files, with the mode git would give them."""
    added = []
    for path in paths:
        if path.endswith("/"):  # a nested repository: git would record a submodule link
            if has_commit(root / path):  # (one without a commit is left out, see nested.py)
                added.append(
                    FileChange(path=path.rstrip("/"), kind=ChangeKind.ADDED, new_mode="160000")
                )
            continue
        try:
            info = os.lstat(root / path)
        except FileNotFoundError:
            continue  # deleted since git listed it
        if stat.S_ISLNK(info.st_mode):
            mode = "120000"
        elif info.st_mode & 0o100:
            mode = "100755"
        else:
            mode = "100644"
        added.append(FileChange(path=path, kind=ChangeKind.ADDED, new_mode=mode))
    return added


async def diff_stats(ws: Workspace, git: Git) -> DiffStats:
    """Per-file added/removed line counts and binary flags, and totals."""
    async with snapshot_index(ws, git) as env:
        out = (await git.run("diff", "--numstat", "-z", *_DIFF_FLAGS, ws.base_sha, env=env)).stdout
    return parse_numstat(out)


async def full_patch(ws: Workspace, git: Git) -> bytes:
    """The whole unified diff of the workspace against its base (binary files named only)."""
    async with snapshot_index(ws, git) as env:
        return (await git.run("diff", *_DIFF_FLAGS, ws.base_sha, env=env)).stdout


async def find_change(ws: Workspace, git: Git, path: str) -> FileChange:
    """The change of `path` (current or old path of a rename); `InputError` if unchanged."""
    for change in await list_changes(ws, git):
        if path in (change.path, change.old_path):
            return change
    raise InputError(
        f"{path!r} has no changes in this workspace",
        hint="reload the diff: the file may have been reverted already",
    )


async def file_diff(
    ws: Workspace, git: Git, path: str | FileChange, change: FileChange | None = None
) -> FileDiff:
    """One file's hunks. `path` is a path (a rename's old or new one) or a listed change."""
    if isinstance(path, FileChange):
        change = path
    elif change is None:
        change = await find_change(ws, git, path)
    paths = [change.path] if change.old_path is None else [change.old_path, change.path]
    args = ("diff", *_DIFF_FLAGS, ws.base_sha, "--", *paths)
    if change.kind in (ChangeKind.ADDED, ChangeKind.RENAMED, ChangeKind.COPIED):
        # The new path may be untracked: it must be intent-to-add to show in the diff.
        async with snapshot_index(ws, git, paths=[change.path]) as env:
            out = (await git.run(*args, env=env)).stdout
    else:
        out = (await git.run(*args, env=_LITERAL)).stdout
    return parse_file_patch(out, change.path, change.old_path)


async def revert_hunk(
    ws: Workspace, git: Git, path: str, hunk_index: int, expected_id: str | None = None
) -> None:
    """Undo one hunk of `path` in the working tree."""
    change = await find_change(ws, git, path)
    diff = await file_diff(ws, git, path, change)
    if diff.binary:
        raise InputError(
            f"{change.path} is a binary file: it has no hunks",
            hint="revert the whole file instead",
        )
    if not 0 <= hunk_index < len(diff.hunks):
        raise InputError(
            f"{change.path} has {len(diff.hunks)} hunk(s); there is no hunk {hunk_index + 1}",
            hint="reload the diff",
        )
    hunk = diff.hunks[hunk_index]
    if expected_id is not None and hunk.id != expected_id:
        raise ConflictError(
            f"hunk {hunk_index + 1} of {change.path} changed since the diff was shown",
            hint="reload the diff and choose again",
        )
    _check_inside(ws, change.path)
    patch = reverse_patch_for_hunk(diff, hunk)
    await git.run(
        "apply", "-R", "--whitespace=nowarn", "-", input=patch,
        hint="the file changed while reverting; reload the diff",
    )  # fmt: skip


async def revert_file(ws: Workspace, git: Git, path: str) -> FileChange:
    """Put `path` back as it is at the base: restore it, or delete it if the task added it."""
    change = await find_change(ws, git, path)
    if change.kind in (ChangeKind.ADDED, ChangeKind.COPIED):
        _delete(ws, change.path)
    elif change.kind is ChangeKind.RENAMED:
        _delete(ws, change.path)
        await _restore(ws, git, str(change.old_path))
    else:
        await _restore(ws, git, change.path)
    return change


async def _restore(ws: Workspace, git: Git, path: str) -> None:
    target = _check_inside(ws, path)
    if target.is_dir() and not target.is_symlink():
        raise WorkspaceError(
            f"cannot restore {path}: a folder now stands where the file was",
            hint="move or delete the folder, then revert again",
        )
    await git.run("restore", f"--source={ws.base_sha}", "--worktree", "--", path, env=_LITERAL)


def _check_inside(ws: Workspace, path: str) -> Path:
    """The absolute path of `path` in the workspace; refuses a parent that leads outside."""
    root = ws.path.resolve()
    target = ws.path / path
    parent = target.parent.resolve()
    if parent != root and root not in parent.parents:
        raise WorkspaceError(
            f"refusing to touch {path}: its folder leads outside the workspace (a symlink)",
            hint="remove the symlink from the workspace first",
        )
    return parent / target.name


def _delete(ws: Workspace, path: str) -> None:
    target = _check_inside(ws, path)
    try:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    except FileNotFoundError:
        return
    except OSError as err:
        raise WorkspaceError(f"cannot delete {path}: {err.strerror}") from err
    root = ws.path.resolve()
    parent = target.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
