"""Merging a child task's branch into its parent's workspace: a merge commit when it applies
cleanly; on a conflict the merge is undone (the parent's tree is left as it was) and the
conflicting files are named."""

from __future__ import annotations

from dataclasses import dataclass, field

from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.publish import author_env
from asynccoder_tui.vcs.refs import validate_branch_name


@dataclass(frozen=True)
class MergeResult:
    merged: bool
    sha: str | None = None
    conflicts: list[str] = field(default_factory=list)
    detail: str = ""


async def merge_branch(
    git: Git, branch: str, message: str, *, author_name: str, author_email: str
) -> MergeResult:
    """Merge `branch` into the work tree's current branch (`--no-ff`)."""
    branch = validate_branch_name(branch)
    env = author_env(author_name, author_email)
    result = await git.run(
        "merge", "--no-ff", "--no-edit", "--no-verify", "-m", message,
        f"refs/heads/{branch}", check=False, env=env,
    )  # fmt: skip
    if result.ok:
        sha = (await git.text("rev-parse", "HEAD")).strip()
        return MergeResult(True, sha=sha)
    listed = await git.run("diff", "--name-only", "--diff-filter=U", "-z", check=False)
    conflicts = sorted(p for p in listed.stdout.decode("utf-8", "replace").split("\0") if p)
    await git.run("merge", "--abort", check=False)
    detail = (result.stderr or result.stdout).decode("utf-8", "replace").strip()[-2000:]
    return MergeResult(False, conflicts=conflicts, detail=detail)
