"""Merging a child task's branch into its parent's workspace: a merge commit when it applies
cleanly; on a conflict the merge is undone (the parent's tree is left as it was) and the
conflicting files are named, unless the caller asks to keep the conflict in the work tree for
a person to resolve. A kept merge is later concluded (`conclude_merge`: the resolved files are
added and the merge committed, refused while conflict markers remain) or aborted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from asynccoder_tui.domain.errors import ConflictError
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.publish import author_env
from asynccoder_tui.vcs.refs import validate_branch_name

_MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@dataclass(frozen=True)
class MergeResult:
    merged: bool
    sha: str | None = None
    conflicts: list[str] = field(default_factory=list)
    detail: str = ""


async def merge_branch(
    git: Git, branch: str, message: str, *, author_name: str, author_email: str,
    keep_conflict: bool = False,
) -> MergeResult:  # fmt: skip
    """Merge `branch` into the work tree's current branch (`--no-ff`); on a conflict, undo it
    unless `keep_conflict` (then the merge stays in progress, markers in the files)."""
    branch = validate_branch_name(branch)
    env = author_env(author_name, author_email)
    result = await git.run(
        "merge", "--no-ff", "--no-edit", "--no-verify", "-m", message,
        f"refs/heads/{branch}", check=False, env=env,
    )  # fmt: skip
    if result.ok:
        sha = (await git.text("rev-parse", "HEAD")).strip()
        return MergeResult(True, sha=sha)
    conflicts = await unmerged_paths(git)
    if not keep_conflict:
        await git.run("merge", "--abort", check=False)
    detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip()[-2000:]
    return MergeResult(False, conflicts=conflicts, detail=detail)


async def unmerged_paths(git: Git) -> list[str]:
    """The paths the index holds as unmerged (a conflict not yet added)."""
    listed = await git.run("diff", "--name-only", "--diff-filter=U", "-z", check=False)
    return sorted({p for p in listed.stdout.decode("utf-8", "replace").split("\0") if p})


async def merge_in_progress(git: Git) -> bool:
    return (await git.run("rev-parse", "-q", "--verify", "MERGE_HEAD", check=False)).ok


async def contains(git: Git, sha: str) -> bool:
    """Whether commit `sha` is already part of the current branch."""
    return (await git.run("merge-base", "--is-ancestor", sha, "HEAD", check=False)).ok


async def abort_merge(git: Git) -> None:
    await git.run("merge", "--abort", check=False)


def _marked(root: Path, paths: list[str]) -> list[str]:
    """The paths whose file still holds conflict markers (a path leaving `root` counts)."""
    top = root.resolve()
    found = []
    for rel in paths:
        target = (root / rel).resolve()
        if top not in target.parents:
            found.append(rel)
            continue
        try:
            data = target.read_bytes() if target.is_file() else b""
        except OSError:
            found.append(rel)
            continue
        if any(line.startswith(_MARKERS) for line in data.splitlines()):
            found.append(rel)
    return found


async def conflicted_files(git: Git, root: Path) -> list[str]:
    """The unmerged paths whose files still hold conflict markers: a conflict not resolved."""
    paths = await unmerged_paths(git)
    return await asyncio.to_thread(_marked, root, paths) if paths else []


async def refuse_unresolved_merge(git: Git, root: Path) -> None:
    """`ConflictError` naming the files while a merge left in the work tree still has conflict
    markers in them: committing now would conclude the merge with the markers."""
    conflicted = await conflicted_files(git, root)
    if conflicted:
        shown = ", ".join(conflicted[:5]) + (" …" if len(conflicted) > 5 else "")
        raise ConflictError(
            f"the workspace has an unresolved merge conflict in {shown}",
            hint=f"resolve the files in {root}, then try again (a plan stopped by the "
            "conflict: resume it, or skip the subtask)",
        )


async def conclude_merge(
    git: Git, root: Path, *, author_name: str, author_email: str
) -> MergeResult:
    """Commit the merge in progress once its conflicts are resolved in the files; refused
    (naming them) while a conflicted file still holds conflict markers."""
    paths = await unmerged_paths(git)
    marked = await asyncio.to_thread(_marked, root, paths) if paths else []
    if marked:
        return MergeResult(False, conflicts=marked, detail="conflict markers remain")
    if paths:
        await git.run("add", "-A", "--", *paths, env={"GIT_LITERAL_PATHSPECS": "1"})
    env = author_env(author_name, author_email)
    await git.run("commit", "--no-edit", "--no-verify", env=env)
    sha = (await git.text("rev-parse", "HEAD")).strip()
    return MergeResult(True, sha=sha)
