"""Where a task's worktree comes from: a local repository in place, or a GitHub cache clone.

`local_source` finds a local repository's git folder (a linked worktree's common folder too)
and the base branch's ref (a local branch, else its remote-tracking branch). `github_source`
makes sure the cache clone exists and names the base as `refs/remotes/origin/<base>`; fetching
is the caller's decision. Callers hold the repository lock.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.domain.errors import GitError, WorkspaceError
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.remote import ensure_mirror
from asynccoder_tui.vcs.spec import RepoSpec


@dataclass(frozen=True)
class Source:
    git: Git
    """Runs git in the repository (no work tree)."""
    common_dir: Path
    base_ref: str


async def github_source(spec: RepoSpec, base: str, *, mirrors: Path, timeout: float) -> Source:
    mirror = mirrors / f"{spec.key}.git"
    await ensure_mirror(mirror, str(spec.clone_url), timeout=timeout)
    git = Git(git_dir=mirror, cwd=mirror, timeout=timeout)
    return Source(git, mirror, f"refs/remotes/origin/{base}")


async def local_source(spec: RepoSpec, base: str, *, timeout: float) -> Source:
    local = Path(str(spec.local_path))
    if not await asyncio.to_thread(local.is_dir):
        raise WorkspaceError(
            f"local repository {local} does not exist",
            hint="it was moved or deleted; add it again from its new place",
        )
    try:
        common = await Git(cwd=local, timeout=timeout).text(
            "rev-parse", "--path-format=absolute", "--git-common-dir"
        )
    except GitError as err:
        raise WorkspaceError(
            f"{local} is not a git repository", hint="add a folder that holds a git repository"
        ) from err
    common_dir = Path(common.strip())
    git = Git(git_dir=common_dir, cwd=common_dir, timeout=timeout)
    ref = f"refs/heads/{base}"
    if not await git.succeeds("rev-parse", "--verify", "-q", ref):
        remote_ref = f"refs/remotes/{spec.repo_settings.remote}/{base}"
        if await git.succeeds("rev-parse", "--verify", "-q", remote_ref):
            ref = remote_ref
    return Source(git, common_dir, ref)
