"""Repository use cases: add a local path or a GitHub repository, list, archive, sync.

A local repository must be a git checkout with a working tree and at least one commit; it is
used in place through worktrees and never modified outside them. Its default branch is the one
its `origin` points at, else `main` or `master`, else the branch checked out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from asynccoder_tui.db import audit, repositories
from asynccoder_tui.db.repositories import RepositoryRow
from asynccoder_tui.domain.enums import RepoStatus
from asynccoder_tui.domain.errors import GitError, InputError, NotFoundError
from asynccoder_tui.domain.models import Repository
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import github_client
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.refs import validate_github_full_name

MAX_PATH_CHARS = 4096


async def count_active(ctx: AppContext) -> int:
    return await repositories.count_repositories(ctx.db.pool, ctx.user.id)


async def list_repos(
    ctx: AppContext, *, include_archived: bool = False, text: str | None = None
) -> list[RepositoryRow]:
    return await repositories.list_repositories(
        ctx.db.pool, ctx.user.id, include_archived=include_archived, text=text or None
    )


@dataclass(frozen=True)
class LocalRepoInfo:
    path: Path
    name: str
    default_branch: str


def _resolve_dir(raw: str) -> Path | None:
    path = Path(os.path.expanduser(raw)).resolve(strict=True)
    return path if path.is_dir() else None


async def inspect_local(raw: str) -> LocalRepoInfo:
    """Check that `raw` is a usable local git checkout and find its default branch."""
    if "\x00" in raw or len(raw) > MAX_PATH_CHARS or not raw.strip():
        raise InputError("not a usable path", hint="give the folder of a git checkout")
    try:
        path = await asyncio.to_thread(_resolve_dir, raw.strip())
    except (OSError, RuntimeError) as err:
        raise InputError(f"{raw!r} does not exist or cannot be read") from err
    if path is None:
        raise InputError(f"{raw} is not a folder", hint="give the folder of a git checkout")
    git = Git(cwd=path, timeout=30)
    bare = await git.run("rev-parse", "--is-bare-repository", check=False)
    if not bare.ok:
        raise InputError(
            f"{path} is not a git repository", hint="run `git init` there, or give another folder"
        )
    if bare.text.strip() == "true":
        raise InputError(
            f"{path} is a bare repository", hint="add a clone with a working tree instead"
        )
    probe = await git.run("rev-parse", "--show-toplevel", check=False)
    if not probe.ok or not probe.text.strip():
        raise InputError(
            f"{path} is inside a git folder, not a working tree",
            hint="give the folder of a checkout (the one that holds .git)",
        )
    top = Path(probe.text.strip())
    top_git = Git(cwd=top, timeout=30)
    if not await top_git.succeeds("rev-parse", "--verify", "--quiet", "HEAD^{commit}"):
        raise InputError(
            f"{top} has no commits yet", hint="commit something first: tasks branch from a commit"
        )
    return LocalRepoInfo(
        path=top, name=top.name or str(top), default_branch=await _default_branch(top_git)
    )


async def _default_branch(git: Git) -> str:
    origin = await git.run(
        "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", check=False
    )
    if origin.ok and origin.text.strip().startswith("origin/"):
        return origin.text.strip().removeprefix("origin/")
    for candidate in ("main", "master"):
        if await git.succeeds("show-ref", "--verify", "--quiet", f"refs/heads/{candidate}"):
            return candidate
    head = await git.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if head.ok and head.text.strip():
        return head.text.strip()
    raise GitError("cannot tell the repository's default branch (HEAD is detached)")


def looks_like_github(ref: str) -> bool:
    text = ref.strip()
    if text.startswith(("https://github.com/", "git@github.com:")):
        return True
    return text.count("/") == 1 and not text.startswith((".", "/", "~")) and not Path(text).exists()


def github_full_name(ref: str) -> str:
    text = ref.strip().removesuffix(".git")
    for prefix in ("https://github.com/", "git@github.com:"):
        text = text.removeprefix(prefix)
    return validate_github_full_name(text.strip("/"))


async def add_repo(ctx: AppContext, ref: str) -> Repository:
    """Add a local checkout by path, or a GitHub repository by `owner/name` or URL."""
    if looks_like_github(ref):
        return await add_github(ctx, github_full_name(ref))
    info = await inspect_local(ref)
    repo = await repositories.add_local(
        ctx.db.pool,
        ctx.user.id,
        path=str(info.path),
        name=info.name,
        default_branch=info.default_branch,
    )
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="repository.added", resource_type="repository",
        resource_id=str(repo.id), details={"path": str(info.path)},
    )  # fmt: skip
    return repo


async def add_github(ctx: AppContext, full_name: str) -> Repository:
    async with await github_client(ctx) as gh:
        meta = await gh.get_repo(full_name)
    repo = await repositories.upsert_github(
        ctx.db.pool, ctx.user.id, full_name=meta.full_name, github_id=meta.id,
        clone_url=meta.clone_url, default_branch=meta.default_branch, language=meta.language,
        private=meta.private,
    )  # fmt: skip
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="repository.added", resource_type="repository",
        resource_id=str(repo.id), details={"github": meta.full_name},
    )  # fmt: skip
    return repo


@dataclass(frozen=True)
class SyncResult:
    seen: int
    added_or_updated: int


async def sync_github(
    ctx: AppContext, *, progress: Callable[[int, int], None] | None = None
) -> SyncResult:
    """Refresh every GitHub repository the user can reach (paginated)."""
    async with await github_client(ctx) as gh:
        found = await gh.list_repos()
    for done, meta in enumerate(found, start=1):
        await repositories.upsert_github(
            ctx.db.pool, ctx.user.id, full_name=meta.full_name, github_id=meta.id,
            clone_url=meta.clone_url, default_branch=meta.default_branch,
            language=meta.language, private=meta.private,
        )  # fmt: skip
        if progress is not None:
            progress(done, len(found))
    return SyncResult(seen=len(found), added_or_updated=len(found))


async def _own(ctx: AppContext, repo_id: UUID) -> Repository:
    repo = await repositories.get_repository(ctx.db.pool, repo_id)
    if repo.owner_id != ctx.user.id:
        raise NotFoundError(f"repository {repo_id} not found")
    return repo


async def find(ctx: AppContext, ref: str) -> Repository:
    repo = await repositories.find_repository(ctx.db.pool, ctx.user.id, ref)
    if repo is None:
        raise NotFoundError(
            f"repository {ref!r} not found", hint="`asynccoder repo list` shows them"
        )
    return repo


async def archive(ctx: AppContext, repo_id: UUID) -> Repository:
    await _own(ctx, repo_id)
    repo = await repositories.set_status(ctx.db.pool, repo_id, RepoStatus.ARCHIVED)
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="repository.archived", resource_type="repository",
        resource_id=str(repo_id),
    )  # fmt: skip
    return repo


async def restore(ctx: AppContext, repo_id: UUID) -> Repository:
    await _own(ctx, repo_id)
    return await repositories.set_status(ctx.db.pool, repo_id, RepoStatus.ACTIVE)


async def list_branches(ctx: AppContext, repo_id: UUID) -> list[str]:
    """Branches to offer as a task's base, the default branch first."""
    repo = await _own(ctx, repo_id)
    if repo.local_path:
        git = Git(cwd=Path(repo.local_path), timeout=30)
        out = await git.run("for-each-ref", "--format=%(refname:short)", "refs/heads", check=False)
        names = [line.strip() for line in out.text.splitlines() if line.strip()] if out.ok else []
    else:
        async with await github_client(ctx) as gh:
            names = [b.name for b in await gh.list_branches(repo.full_name or repo.name)]
    names.sort(key=lambda n: (n != repo.default_branch, n))
    return names
