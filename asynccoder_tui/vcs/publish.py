"""Committing a workspace, pushing its branch, and telling what work is not saved anywhere.

- `commit` stages everything (ignored files and nested repositories without a commit stay
  out), commits with the configured author and committer and, when enabled, an
  `Assisted-by: <model>` trailer; hooks never run.
- `push` sends the task branch to the remote with the token in a header that git reads from
  its environment (see `remote.auth_config`); the token is redacted from any error.
- `work_state` counts uncommitted files and commits no remote or other branch holds: what a
  removal would lose.

Nothing here takes the repository lock: commits and pushes touch only the task's own branch.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass

from asynccoder_tui.domain.errors import GitError, InputError, WorkspaceError
from asynccoder_tui.vcs.diff import parse_numstat
from asynccoder_tui.vcs.git import Git, redact
from asynccoder_tui.vcs.nested import split_untracked
from asynccoder_tui.vcs.refs import validate_remote_url
from asynccoder_tui.vcs.remote import auth_config
from asynccoder_tui.vcs.spec import Workspace

log = logging.getLogger(__name__)

TRAILER_KEY = "Assisted-by"
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    files_changed: int
    added: int
    removed: int


@dataclass(frozen=True)
class PushResult:
    remote: str
    branch: str
    sha: str
    url: str


@dataclass(frozen=True)
class WorkState:
    """What is in a workspace and nowhere else."""

    dirty_files: list[str]
    """Uncommitted changes (untracked files included, ignored files not)."""
    unpushed_commits: int
    """Commits of the task branch that no remote-tracking ref and no other branch holds."""
    head_sha: str | None

    @property
    def clean(self) -> bool:
        return not self.dirty_files and self.unpushed_commits == 0


def _one_line(value: str, what: str) -> str:
    text = re.sub(r"\s+", " ", value).strip()
    if not text or any(ord(ch) < 0x20 for ch in text):
        raise InputError(f"invalid {what} {value!r}")
    return text


def author_env(name: str, email: str) -> dict[str, str]:
    name = _one_line(name, "author name")
    email = _one_line(email, "author email")
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


async def commit(
    ws: Workspace,
    git: Git,
    message: str,
    *,
    author_name: str,
    author_email: str,
    model_name: str | None = None,
    assisted_by: bool = True,
) -> CommitInfo | None:
    """Commit every change of the workspace; None when there is nothing to commit."""
    body = message.strip()
    if not body:
        raise InputError("the commit message is empty")
    # `add --all`, in two steps so that a nested repository without a commit (which git
    # cannot record) is left out instead of failing the whole commit; see nested.py.
    await git.run("add", "--update", "--", ".", env=_LITERAL)
    untracked = (
        await git.run("ls-files", "-z", "--others", "--exclude-standard", env=_LITERAL)
    ).stdout
    addable, unborn = await asyncio.to_thread(split_untracked, ws.path, untracked)
    if unborn:
        log.warning(
            "left out of the commit: nested repositories without a commit: %s",
            ", ".join(os.fsdecode(u) for u in unborn),
        )
    if addable:
        await git.run(
            "add", "--pathspec-from-file=-", "--pathspec-file-nul",
            input=b"\0".join(addable), env=_LITERAL,
        )  # fmt: skip
    staged = await git.run("diff", "--cached", "--quiet", check=False)
    if staged.returncode == 0:
        return None
    if staged.returncode != 1:
        raise GitError(f"cannot tell whether {ws.path} has staged changes")
    args = ["commit", "--quiet", "--no-verify", "--cleanup=strip", "--file=-"]
    if assisted_by and model_name:
        args.append(f"--trailer={TRAILER_KEY}: {_one_line(model_name, 'model name')}")
    env = author_env(author_name, author_email)
    await git.run(*args, input=body.encode("utf-8") + b"\n", env=env)
    sha = (await git.text("rev-parse", "HEAD")).strip()
    stats = parse_numstat(
        (await git.run("diff", "--numstat", "-z", "-M", "--no-ext-diff", f"{sha}^", sha)).stdout
    )
    full = (await git.text("log", "-1", "--format=%B", sha)).strip()
    return CommitInfo(sha, full, stats.files_changed, stats.added, stats.removed)


async def remote_url(git: Git, remote: str) -> str:
    result = await git.run("config", "--get", f"remote.{remote}.url", check=False)
    if not result.ok or not result.text:
        raise WorkspaceError(
            f"the repository has no remote named {remote!r} to push to",
            hint=f"add one with `git remote add {remote} <url>` or set the repository's remote",
        )
    return validate_remote_url(result.text.strip())


async def push(
    ws: Workspace,
    git: Git,
    *,
    remote: str = "origin",
    token: str | None = None,
    force: bool = False,
) -> PushResult:
    """Push the task branch to `remote` (same name there); `force` uses a lease."""
    url = await remote_url(git, remote)
    sha = (await git.text("rev-parse", f"refs/heads/{ws.branch}")).strip()
    if sha == ws.base_sha:
        raise WorkspaceError(
            f"branch {ws.branch} has no commits to push", hint="commit the changes first"
        )
    refspec = f"refs/heads/{ws.branch}:refs/heads/{ws.branch}"
    args = ["push", "--porcelain", "--no-verify"]
    if force:
        tracking = await git.run(
            "rev-parse", "--verify", "-q", f"refs/remotes/{remote}/{ws.branch}", check=False
        )
        expect = tracking.text.strip() if tracking.ok else ""
        args.append(f"--force-with-lease=refs/heads/{ws.branch}:{expect}")
    secrets = [token] if token else []
    try:
        await git.run(*args, remote, refspec, config=auth_config(url, token), secrets=secrets)
    except GitError as err:
        raise _push_error(err, ws.branch, url, secrets) from None
    # Record the push even where the remote has no fetch refspec that would do it.
    await git.run("update-ref", f"refs/remotes/{remote}/{ws.branch}", sha, check=False)
    return PushResult(remote=remote, branch=ws.branch, sha=sha, url=url)


def _push_error(err: GitError, branch: str, url: str, secrets: list[str]) -> GitError:
    text = err.message.lower()
    if "rejected" in text and (
        "fetch first" in text or "non-fast-forward" in text or "stale" in text
    ):
        hint = "the remote branch has commits the workspace lacks; push with force to replace them"
    elif "403" in text or "permission" in text or "denied" in text:
        hint = "the token cannot write to this repository (it needs contents: write)"
    elif "401" in text or "authentication" in text or "could not read username" in text:
        hint = "the remote asked for credentials: check the GitHub token"
    else:
        hint = "check the network and the remote, then try again"
    return GitError(redact(f"cannot push {branch} to {url}: {err.message}", secrets), hint=hint)


async def work_state(
    ws: Workspace, repo_git: Git, ws_git: Git | None, *, pushed_sha: str | None = None
) -> WorkState:
    """Uncommitted files and commits held by nothing but the task branch.

    `repo_git` runs in the repository; `ws_git` in the worktree (None when it is gone).
    """
    dirty: list[str] = []
    if ws_git is not None:
        out = (await ws_git.run("status", "--porcelain=v1", "-z", "--untracked-files=all")).stdout
        fields = out.split(b"\0")
        i = 0
        while i < len(fields):
            record = fields[i]
            i += 1
            if len(record) < 4:
                continue
            dirty.append(record[3:].decode("utf-8", "surrogateescape"))
            if record[:1] in (b"R", b"C"):
                i += 1  # the original path of a rename or copy follows
    git = repo_git
    head = await git.run("rev-parse", "--verify", "-q", f"refs/heads/{ws.branch}", check=False)
    if not head.ok:
        return WorkState(dirty, 0, None)
    exclude = [ws.base_sha] + ([pushed_sha] if pushed_sha else [])
    count = await git.text(
        "rev-list", "--count", f"refs/heads/{ws.branch}",
        "--not", f"--exclude={ws.branch}", "--branches", "--remotes", *exclude,
    )  # fmt: skip
    return WorkState(dirty, int(count or 0), head.text.strip())
