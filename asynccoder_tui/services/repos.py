"""Repository use cases: add a local path or a GitHub repository, list, archive, sync, and
read or change a repository's settings (test and setup commands, review, network, copy files).

A local repository must be a git checkout with a working tree and at least one commit; it is
used in place through worktrees and never modified outside them. Its default branch is the one
its `origin` points at, else `main` or `master`, else the branch checked out.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from asynccoder_tui.db import ai_models, audit, repositories
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.repositories import RepositoryRow
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import RepoStatus
from asynccoder_tui.domain.errors import GitError, InputError, NotFoundError
from asynccoder_tui.domain.models import Repository
from asynccoder_tui.engine.reviews import REVIEW_MODES
from asynccoder_tui.logs import redact
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import github_client
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.refs import validate_github_full_name
from asynccoder_tui.vcs.spec import RepoSettings, RepoSpec

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


# settings ---------------------------------------------------------------------------------------

MAX_COMMAND_CHARS = 4000
MAX_COPY_FILES = 100


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
"""The default of `update_repo_settings`' keyword arguments: leave that setting as it is."""


@dataclass(frozen=True)
class EffectiveRepoSettings:
    """A repository's settings as the runner and the reviewer read them, defaults filled in."""

    test_command: str | None = None
    setup_command: str | None = None
    review: str = "off"
    review_model: str | None = None
    network: bool | None = None
    """The repository's own choice; None: the global `sandbox_network` setting decides."""
    network_default: bool = False
    """The global `sandbox_network` setting, used when `network` is None."""
    copy_files: list[str] = field(default_factory=list)
    github: str | None = None
    """`owner/name` pull requests of a local repository go to (else its GitHub remote)."""

    @property
    def network_effective(self) -> bool:
        return self.network_default if self.network is None else self.network

    def as_dict(self) -> dict[str, Any]:
        return {
            "test_command": self.test_command, "setup_command": self.setup_command,
            "review": self.review, "review_model": self.review_model, "network": self.network,
            "network_effective": self.network_effective, "copy_files": list(self.copy_files),
            "github": self.github,
        }  # fmt: skip


def effective_settings(repo: Repository, *, network_default: bool = False) -> EffectiveRepoSettings:
    """`repo`'s settings read the way `vcs/spec.RepoSettings` and the runner read them."""
    raw = repo.settings or {}
    try:
        spec = RepoSettings.model_validate(raw)
    except (ValueError, InputError):  # a hand-edited row the runner would refuse too
        spec = RepoSettings()
    test = raw.get("test_command")
    review = str(raw.get("review") or "off").lower()
    model = raw.get("review_model")
    github = raw.get("github")
    return EffectiveRepoSettings(
        test_command=test if isinstance(test, str) and test.strip() else None,
        setup_command=spec.setup_command or None,
        review=review if review in REVIEW_MODES else "off",
        review_model=model if isinstance(model, str) and model else None,
        network=spec.network,
        network_default=network_default,
        copy_files=list(spec.copy_files),
        github=github if isinstance(github, str) and github.count("/") == 1 else None,
    )


async def repo_settings(ctx: AppContext, ref: str | UUID) -> EffectiveRepoSettings:
    """The effective settings of the user's repository `ref` (id, name, full name or path)."""
    repo = await _own(ctx, ref) if isinstance(ref, UUID) else await find(ctx, ref)
    return effective_settings(repo, network_default=ctx.settings.sandbox_network)


def check_command(value: object, what: str) -> str | None:
    """A shell command as saved: trimmed, None when empty (which clears it)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"the {what} must be text")
    text = value.strip()
    if len(text) > MAX_COMMAND_CHARS:
        raise InputError(
            f"the {what} is {len(text):,} characters long; at most {MAX_COMMAND_CHARS:,} are allowed",
            hint="put a longer script in a file in the repository and run that",
        )
    if any((ord(c) < 32 and c != "\t") or 127 <= ord(c) < 160 for c in text):
        raise InputError(
            f"the {what} holds a control character (a line break, NUL or escape)",
            hint="write it on one line; join steps with && or ;",
        )
    return text or None


def check_review(value: object) -> str:
    mode = str(value or "").strip().lower()
    if mode not in REVIEW_MODES:
        raise InputError(f"review must be one of {', '.join(REVIEW_MODES)}, not {value!r}")
    return mode


def check_copy_files(value: object) -> list[str]:
    """Repository-relative paths (or glob patterns), trimmed, without duplicates."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise InputError("copy files must be a list of paths")
    paths: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise InputError("copy files must be a list of paths")
        text = item.strip()
        if not text:
            continue
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text) or len(text) > MAX_PATH_CHARS:
            raise InputError(f"copy file {text[:80]!r} is not a usable path")
        if text.startswith(("/", "~", "\\")) or (len(text) > 1 and text[1] == ":"):
            raise InputError(
                f"copy file {text!r} is an absolute path",
                hint="give paths relative to the repository, such as .env",
            )
        if ".." in text.replace("\\", "/").split("/"):
            raise InputError(
                f"copy file {text!r} leaves the repository", hint="remove '..' from the path"
            )
        if text not in paths:
            paths.append(text)
    if len(paths) > MAX_COPY_FILES:
        raise InputError(f"{len(paths)} copy files given; at most {MAX_COPY_FILES} are allowed")
    return paths


def _readable(repo: Repository) -> bool:
    try:
        RepoSettings.model_validate(repo.settings or {})
    except (ValueError, InputError):
        return False
    return True


async def _check_review_model(db: Executor, name: str) -> None:
    model = await ai_models.find_model(db, name)
    if model is None or not model.active:
        state = "is disabled" if model is not None else "is not a known model"
        raise InputError(
            f"review model {name!r} {state}",
            hint="`asynccoder model list` shows the enabled models; leave it empty for the "
            "reviewer agent's default",
        )


def _audit_value(value: object) -> object:
    """A setting's value as the audit row keeps it: anything looking like a secret masked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_audit_value(v) for v in value]
    return value


async def update_repo_settings(
    ctx: AppContext,
    ref: str | UUID,
    *,
    test_command: str | None = UNCHANGED,
    setup_command: str | None = UNCHANGED,
    review: str = UNCHANGED,
    review_model: str | None = UNCHANGED,
    network: bool | None = UNCHANGED,
    copy_files: list[str] | str = UNCHANGED,
    github: str | None = UNCHANGED,
) -> EffectiveRepoSettings:
    """Validate and save the given settings of the user's repository, audited.

    An empty command, review model or copy-file list clears it; `network=None` hands the choice
    back to the global setting; `github` (owner/name, empty clears) is where a local
    repository's pull requests go when its remote is not on GitHub. Nothing is written (no row, no audit) when nothing changes.
    """
    wanted: dict[str, Any] = {}
    if test_command is not UNCHANGED:
        wanted["test_command"] = check_command(test_command, "test command")
    if setup_command is not UNCHANGED:
        wanted["setup_command"] = check_command(setup_command, "setup command")
    if review is not UNCHANGED:
        wanted["review"] = check_review(review)
    if review_model is not UNCHANGED:
        if review_model is not None and not isinstance(review_model, str):
            raise InputError("the review model must be a model's name")
        wanted["review_model"] = (review_model or "").strip() or None
    if network is not UNCHANGED:
        if network is not None and not isinstance(network, bool):
            raise InputError("network must be on or off")
        wanted["network"] = network
    if copy_files is not UNCHANGED:
        wanted["copy_files"] = check_copy_files(copy_files)
    if github is not UNCHANGED:
        if github is not None and not isinstance(github, str):
            raise InputError("the GitHub repository must be given as owner/name")
        name = (github or "").strip()
        wanted["github"] = validate_github_full_name(name) if name else None
    repo = await _own(ctx, ref) if isinstance(ref, UUID) else await find(ctx, ref)
    default = ctx.settings.sandbox_network
    async with transaction(ctx.db.pool) as conn:
        current = await repositories.get_repository(conn, repo.id)
        before = effective_settings(current, network_default=default).as_dict()
        if _readable(current):
            changed = {k: v for k, v in wanted.items() if before[k] != v}
        else:  # a hand-edited row the runner refuses: write what is given, to repair it
            changed = dict(wanted)
        if not changed:
            return effective_settings(current, network_default=default)
        if changed.get("review_model") is not None:  # an unchanged one may be disabled since
            await _check_review_model(conn, changed["review_model"])
        candidate = current.model_copy(update={"settings": {**current.settings, **changed}})
        try:
            RepoSpec.coerce(candidate).repo_settings  # noqa: B018 - what the runner will read
        except (ValueError, InputError) as err:
            raise InputError(f"the runner could not read these settings: {err}") from None
        saved = await repositories.update_settings(conn, repo.id, changed)
        await audit.record(
            conn, user_id=ctx.user.id, action="repository.settings_changed",
            resource_type="repository", resource_id=str(repo.id),
            details={
                "keys": sorted(changed),
                "changes": {
                    k: {"from": _audit_value(before[k]), "to": _audit_value(v)}
                    for k, v in sorted(changed.items())
                },
            },
        )  # fmt: skip
    return effective_settings(saved, network_default=default)
