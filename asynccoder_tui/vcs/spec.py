"""The shapes the engine hands to `vcs/` and gets back: repository spec, settings, workspace.

`RepoSpec` accepts the database's `Repository` model as it is (`RepoSpec.coerce(repository)`,
fields kind, local_path, clone_url, full_name, default_branch, settings). `RepoSettings` reads
the repository's `settings` JSON (copy_files, setup_command, network...). `Workspace` is what
`WorkspaceManager.prepare` returns; it is plain data, serialisable, and can be rebuilt after a
restart with `WorkspaceManager.open(task_id)`.

No I/O here: only validation.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.vcs.refs import (
    validate_branch_name,
    validate_github_full_name,
    validate_relative_path,
    validate_remote_url,
)


class RepoSettings(BaseModel):
    """Per-repository workspace settings, from `Repository.settings`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    copy_files: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("copy_files", "files_to_copy")
    )
    """Ignored files (or glob patterns) copied into each new workspace, such as `.env`."""
    copy_from: str | None = None
    """Folder the files are copied from; default: the local repository's own checkout."""
    setup_command: str | None = Field(
        default=None, validation_alias=AliasChoices("setup_command", "setup_script")
    )
    """Shell command run (sandboxed) in each new workspace before the agent starts."""
    setup_timeout: int = Field(default=600, ge=1, le=24 * 3600)
    network: bool | None = Field(
        default=None, validation_alias=AliasChoices("network", "sandbox_network", "allow_network")
    )
    """Whether sandboxed commands may use the network; None: the global setting decides."""
    remote: str = "origin"
    """The remote pushes go to (local repositories)."""

    @field_validator("copy_files")
    @classmethod
    def _relative(cls, value: list[str]) -> list[str]:
        return [validate_relative_path(item) for item in value]

    @field_validator("remote")
    @classmethod
    def _remote_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", value):
            raise ValueError(f"invalid remote name {value!r}")
        return value


class RepoSpec(BaseModel):
    """A repository as `vcs/` needs it: a GitHub clone URL or a local path, and settings."""

    model_config = ConfigDict(from_attributes=True, frozen=True, extra="ignore")

    kind: RepoKind
    local_path: str | None = None
    clone_url: str | None = None
    full_name: str | None = None
    default_branch: str = "main"
    settings: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> RepoSpec:
        validate_branch_name(self.default_branch)
        if self.full_name is not None and self.kind is RepoKind.GITHUB:
            validate_github_full_name(self.full_name)
        if self.kind is RepoKind.LOCAL:
            if not self.local_path or not Path(self.local_path).is_absolute():
                raise InputError(
                    f"local repository path {self.local_path!r} must be an absolute path"
                )
        else:
            if not self.clone_url:
                raise InputError(f"GitHub repository {self.full_name or '?'} has no clone URL")
            validate_remote_url(self.clone_url)
        return self

    @classmethod
    def coerce(cls, repo: Any) -> RepoSpec:
        """A `RepoSpec` from itself, a `Repository` record, or a mapping of the same fields."""
        if isinstance(repo, RepoSpec):
            return repo
        if isinstance(repo, dict):
            return cls.model_validate(repo)
        return cls.model_validate(repo, from_attributes=True)

    @property
    def repo_settings(self) -> RepoSettings:
        try:
            return RepoSettings.model_validate(self.settings or {})
        except ValueError as err:
            raise InputError(
                f"invalid settings for repository {self.label}: {err}",
                hint="fix the repository's settings (copy_files, setup_command, network)",
            ) from None

    @property
    def label(self) -> str:
        """How messages name the repository."""
        if self.kind is RepoKind.LOCAL:
            return str(self.local_path)
        return self.full_name or str(self.clone_url)

    @property
    def key(self) -> str:
        """A stable file-name-safe identity, for locks and the mirror's folder."""
        if self.kind is RepoKind.LOCAL:
            return local_repo_key(Path(str(self.local_path)))
        identity = str(self.clone_url).rstrip("/").removesuffix(".git").lower()
        return _key(identity, (self.full_name or identity.rsplit("/", 1)[-1]).replace("/", "__"))


def local_repo_key(path: Path) -> str:
    """The lock key of the local repository whose working folder is `path`."""
    identity = str(path.resolve())
    return _key(identity, Path(identity).name)


def _key(identity: str, readable: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", readable).strip(".-")[:60] or "repo"
    digest = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"{readable}-{digest}"


class SetupOutcome(BaseModel):
    """What preparing a workspace ran: copied files and the setup command's result."""

    copied: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    command: str | None = None
    exit_code: int | None = None
    timed_out: bool = False
    duration: float = 0.0
    log_path: Path | None = None


class Workspace(BaseModel):
    """One task attempt's worktree, on its own branch from a base branch."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    path: Path
    """The worktree: the only folder agent commands may write to."""
    branch: str
    """`asynccoder/<task-id>-<slug>`."""
    base_branch: str
    base_ref: str
    """Full ref of the base when the workspace was made (`refs/remotes/origin/main`)."""
    base_sha: str
    """Commit the branch started from: diffs are taken against it."""
    git_dir: Path
    """The worktree's private git folder (outside the worktree, out of the agent's reach)."""
    common_dir: Path
    """The repository's git folder (the mirror, or the local repository's `.git`)."""
    repo: RepoSpec
    remote: str = "origin"
    created_at: datetime
    setup: SetupOutcome | None = None
    reused: bool = False
    """True when `prepare` found this workspace already there (a follow-up) and kept it."""
