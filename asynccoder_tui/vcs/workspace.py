"""`WorkspaceManager`: one git worktree and branch per task, from a chosen base branch.

Layout under the data directory (`Paths.workspaces`):

    <task-id>/                 the worktree (the agent's whole world)
    .meta/<task-id>.json       the workspace record (see `records.py`)
    .logs/<task-id>-setup.log  the setup command's output
    .locks/<repo-key>.lock     per-repository lock (worktree add/remove, fetch, branch -D)

GitHub repositories are fetched into a bare cache clone (`remote.py`) before each task; local
repositories are used in place, only through worktrees and `asynccoder/*` branches. Every git
call is a subprocess; file work runs in threads; worktree add/remove, branch deletion and
fetches are serialised per repository, across tasks and processes.

Reviewing (`diff_files`, `file_hunks`, reverts) is in `review.py`, committing and pushing in
`publish.py`, crash recovery in `orphans.py`; this class is the one surface the engine calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asynccoder_tui.config import Paths, Settings
from asynccoder_tui.domain.commands import CommandRunner
from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.domain.errors import GitError, WorkspaceError
from asynccoder_tui.vcs import orphans, publish, review
from asynccoder_tui.vcs.diff import DiffStats, FileChange, FileDiff, with_stats
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.locks import HeldFile, RepoLocks
from asynccoder_tui.vcs.merge import MergeResult, merge_branch, refuse_unresolved_merge
from asynccoder_tui.vcs.records import RecordStore, WorkspaceRecord
from asynccoder_tui.vcs.refs import task_branch, validate_branch_name, validate_task_id
from asynccoder_tui.vcs.remote import fetch_origin
from asynccoder_tui.vcs.sandbox import make_runner
from asynccoder_tui.vcs.setup import run_setup
from asynccoder_tui.vcs.sources import github_source, local_source
from asynccoder_tui.vcs.spec import RepoSpec, Workspace
from asynccoder_tui.vcs.storage import first_problem
from asynccoder_tui.vcs.worktrees import drop_worktree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemovalReport:
    task_id: str
    removed: bool
    branch_deleted: bool
    discarded_files: int = 0
    discarded_commits: int = 0


class WorkspaceManager:
    """Creates, reviews, commits, pushes and removes task workspaces."""

    def __init__(
        self,
        paths: Paths,
        *,
        sandbox: str = "auto",
        sandbox_network: bool = False,
        author_name: str = "Async Coder",
        author_email: str = "asynccoder@localhost",
        assisted_by: bool = True,
        git_timeout: float = 300.0,
        fetch_timeout: float = 1800.0,
        lock_wait: float = 1800.0,
    ) -> None:
        self.paths = paths
        self.root = paths.workspaces
        self.records = RecordStore(self.root / ".meta")
        self.log_dir = self.root / ".logs"
        self.locks = RepoLocks(self.root / ".locks")
        self.sandbox = sandbox
        self.sandbox_network = sandbox_network
        self.author_name = author_name
        self.author_email = author_email
        self.assisted_by = assisted_by
        self.git_timeout = git_timeout
        self.fetch_timeout = fetch_timeout
        self.lock_wait = lock_wait
        self._fetched_at: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, paths: Paths | None = None) -> WorkspaceManager:
        return cls(
            paths or settings.paths,
            sandbox=settings.sandbox,
            sandbox_network=settings.sandbox_network,
            author_name=settings.commit_author_name,
            author_email=settings.commit_author_email,
            assisted_by=settings.assisted_by_trailer,
        )

    # -- creating -----------------------------------------------------------------------------

    async def prepare(
        self,
        repo: Any,
        *,
        task_id: object,
        slug: str = "",
        base_branch: str | None = None,
        token: str | None = None,
        fresh: bool = False,
    ) -> Workspace:
        """The task's workspace: reused when it exists (a follow-up), else made from the base.

        `repo` is a `RepoSpec` or the database's `Repository`; `base_branch` defaults to the
        repository's default branch; `token` authenticates the fetch of a private GitHub
        repository. `fresh` discards an existing workspace and branch first (a retry that
        must start over). Raises `WorkspaceError` (setup failed, base branch missing, a full
        or read-only disk, named as such).
        """
        spec = RepoSpec.coerce(repo)
        try:
            return await self._prepare(spec, task_id, slug, base_branch, token, fresh)
        except (GitError, OSError) as err:
            raise await self._storage_error(spec, err) from err

    async def _storage_error(self, spec: RepoSpec, err: GitError | OSError) -> Exception:
        """`err` as a `WorkspaceError` naming a full, read-only or forbidden disk, when the
        workspaces, the cache or the repository's git folder is one; else `err` itself
        (an `OSError` in words)."""
        folders = [self.root, self.root / ".meta"]
        if spec.kind is RepoKind.LOCAL:
            folders.append(Path(str(spec.local_path)) / ".git")
        else:
            folders.append(self.paths.mirrors)
        problem = await asyncio.to_thread(first_problem, folders)
        said = err.message if isinstance(err, GitError) else (err.strerror or str(err))
        if problem is not None:
            return WorkspaceError(
                f"{said} ({problem})", hint="free some space or fix the folder's permissions"
            )
        if isinstance(err, OSError):
            return WorkspaceError(f"cannot prepare the workspace: {said}")
        return err

    async def _prepare(
        self, spec: RepoSpec, task_id: object, slug: str, base_branch: str | None,
        token: str | None, fresh: bool,
    ) -> Workspace:  # fmt: skip
        tid = validate_task_id(task_id)
        base = validate_branch_name(base_branch or spec.default_branch)
        settings = spec.repo_settings
        marker = HeldFile(self.locks.path_for(f"ws-{tid}"))
        if not await asyncio.to_thread(marker.acquire_nowait):
            raise WorkspaceError(
                f"the workspace of task {tid} is being prepared by another worker",
                hint="wait for it to finish",
            )
        try:
            record = await asyncio.to_thread(self.records.load, tid)
            existing = record.workspace if record is not None else None
            if record is not None and existing is not None and record.state == "ready":
                if fresh:
                    await self.remove(existing, force=True)
                    record = None
                elif await self._is_live(existing):
                    return existing.model_copy(update={"reused": True})
                elif await asyncio.to_thread(existing.path.exists):
                    raise WorkspaceError(
                        f"workspace {existing.path} is no longer on its branch {record.branch}",
                        hint="inspect it, or start over with a fresh workspace",
                    )
            branch = record.branch if record is not None else task_branch(tid, slug)
            ws = await self._create(spec, tid, branch, base, token, fresh, record)
            ws = await self._run_setup(ws, settings)
            await self._save(WorkspaceRecord(
                task_id=tid, state="ready", repo=spec, path=ws.path, branch=ws.branch,
                common_dir=ws.common_dir, base_sha=ws.base_sha, workspace=ws,
                pushed_sha=record.pushed_sha if record is not None else None,
            ))  # fmt: skip
            return ws
        finally:
            marker.release()

    async def _create(
        self,
        spec: RepoSpec,
        tid: str,
        branch: str,
        base: str,
        token: str | None,
        fresh: bool,
        previous: WorkspaceRecord | None,
    ) -> Workspace:
        path = self.root / tid
        asked_at = time.monotonic()
        async with self.locks.hold(spec.key, wait=self.lock_wait, what=f"repository {spec.label}"):
            repo_git, common_dir, base_ref = await self._source(spec, base, token, asked_at)
            resolved = await repo_git.run(
                "rev-parse", "--verify", "-q", f"{base_ref}^{{commit}}", check=False
            )
            if not resolved.ok:
                raise WorkspaceError(
                    f"base branch {base!r} does not exist in {spec.label}",
                    hint="choose an existing branch, or fix the repository's default branch",
                )
            base_sha = resolved.text.strip()
            await self._save(WorkspaceRecord(
                task_id=tid, state="creating", repo=spec, path=path, branch=branch,
                common_dir=common_dir, base_sha=base_sha,
                pushed_sha=previous.pushed_sha if previous is not None else None,
            ))  # fmt: skip
            # Whatever an interrupted attempt left at this path (folder or git's record).
            await drop_worktree(repo_git, path)
            exists = await repo_git.succeeds("rev-parse", "--verify", "-q", f"refs/heads/{branch}")
            if exists and fresh:
                await repo_git.run("branch", "-D", "--", branch)
                exists = False
            if exists:
                # A previous attempt's branch: continue from it; the diff base stays where
                # that attempt started.
                if previous is not None and previous.base_sha:
                    base_sha = previous.base_sha
                else:
                    base_sha = await repo_git.text("merge-base", base_sha, f"refs/heads/{branch}")
                await repo_git.run("worktree", "add", "--quiet", str(path), branch)
            else:
                await repo_git.run(
                    "worktree", "add", "--quiet", "--no-track", "-b", branch, str(path), base_sha
                )
        git_dir = Path(
            await Git(cwd=path, timeout=self.git_timeout).text("rev-parse", "--absolute-git-dir")
        )
        ws = Workspace(
            task_id=tid,
            path=path,
            branch=branch,
            base_branch=base,
            base_ref=base_ref,
            base_sha=base_sha.strip(),
            git_dir=git_dir,
            common_dir=common_dir,
            repo=spec,
            remote="origin" if spec.kind is RepoKind.GITHUB else spec.repo_settings.remote,
            created_at=datetime.now(UTC),
        )
        await self._save(WorkspaceRecord(
            task_id=tid, state="setup", repo=spec, path=path, branch=branch,
            common_dir=common_dir, base_sha=ws.base_sha, workspace=ws,
            pushed_sha=previous.pushed_sha if previous is not None else None,
        ))  # fmt: skip
        return ws

    async def _source(
        self, spec: RepoSpec, base: str, token: str | None, asked_at: float
    ) -> tuple[Git, Path, str]:
        """(git for the repository, its common git folder, the base branch's full ref).

        A GitHub repository is fetched first, unless a fetch by this process finished after
        `asked_at` (tasks queued on the lock share the fetch that just ran).
        """
        if spec.kind is not RepoKind.GITHUB:
            src = await local_source(spec, base, timeout=self.git_timeout)
            return src.git, src.common_dir, src.base_ref
        src = await github_source(
            spec, base, mirrors=self.paths.mirrors, timeout=self.fetch_timeout
        )
        if self._fetched_at.get(spec.key, float("-inf")) < asked_at:
            await fetch_origin(src.git, str(spec.clone_url), token, label=spec.label)
            self._fetched_at[spec.key] = time.monotonic()
        git = Git(git_dir=src.common_dir, cwd=src.common_dir, timeout=self.git_timeout)
        return git, src.common_dir, src.base_ref

    async def _run_setup(self, ws: Workspace, settings: Any) -> Workspace:
        if not settings.copy_files and not (settings.setup_command or "").strip():
            return ws
        source: Path | None = None
        if settings.copy_from:
            source = await asyncio.to_thread(Path(settings.copy_from).expanduser)
        elif ws.repo.kind is RepoKind.LOCAL:
            source = Path(str(ws.repo.local_path))
        runner = await self.command_runner(ws)
        outcome = await run_setup(
            settings,
            workspace=ws.path,
            source=source,
            runner=runner,
            log_path=self.log_dir / f"{ws.task_id}-setup.log",
        )
        return ws.model_copy(update={"setup": outcome})

    async def _is_live(self, ws: Workspace) -> bool:
        if not ws.path.is_dir() or not ws.git_dir.is_dir():
            return False
        head = await Git(git_dir=ws.git_dir, cwd=ws.path).run(
            "symbolic-ref", "-q", "HEAD", check=False
        )
        return head.ok and head.text.strip() == f"refs/heads/{ws.branch}"

    async def _save(self, record: WorkspaceRecord) -> None:
        await asyncio.to_thread(self.records.save, record)

    # -- finding ------------------------------------------------------------------------------

    async def open(self, task_id: object) -> Workspace | None:
        """The ready workspace of a task (after a restart), or None."""
        record = await asyncio.to_thread(self.records.load, validate_task_id(task_id))
        if record is None or record.state != "ready" or record.workspace is None:
            return None
        if not await self._is_live(record.workspace):
            return None
        return record.workspace

    async def command_runner(self, ws: Workspace) -> CommandRunner:
        """The sandboxed runner for commands in `ws` (agent tool calls, setup)."""
        settings = ws.repo.repo_settings
        network = self.sandbox_network if settings.network is None else settings.network
        hidden = [self.paths.data_dir, self.paths.config_dir, self.paths.cache_dir]
        hidden += [self.paths.state_dir, self.paths.log_dir]
        return await make_runner(
            self.sandbox,
            workspace=ws.path,
            network=network,
            readonly_paths=[ws.common_dir],
            hidden_paths=hidden,
        )

    # -- reviewing ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _in_words(self, ws: Workspace, what: str) -> AsyncIterator[None]:
        """An `OSError` (a full or read-only disk, a file that cannot be read) as a
        `WorkspaceError` saying what could not be done and why."""
        try:
            yield
        except OSError as err:
            problem = await asyncio.to_thread(first_problem, [ws.git_dir, ws.path])
            said = err.strerror or str(err)
            detail = f" ({problem})" if problem else ""
            raise WorkspaceError(f"cannot {what}: {said}{detail}") from err

    def _git(self, ws: Workspace) -> Git:
        return review.workspace_git(ws, self.git_timeout)

    async def diff_files(self, ws: Workspace, *, stats: bool = False) -> list[FileChange]:
        """Changed files, fast (no line counts unless `stats`; see `diff_stats`)."""
        git = self._git(ws)
        async with self._in_words(ws, "read the workspace's changes"):
            changes = await review.list_changes(ws, git)
            if stats:
                changes = with_stats(changes, await review.diff_stats(ws, git))
        return changes

    async def diff_stats(self, ws: Workspace) -> DiffStats:
        """Per-file +/- counts, binary flags and totals (reads every changed file)."""
        async with self._in_words(ws, "count the workspace's changes"):
            return await review.diff_stats(ws, self._git(ws))

    async def file_hunks(self, ws: Workspace, path: str | FileChange) -> FileDiff:
        """One file's diff: header and hunks (none for a binary file).

        Pass the `FileChange` from `diff_files` when you have it: a bare path costs a listing.
        """
        async with self._in_words(ws, "read a file's changes"):
            return await review.file_diff(ws, self._git(ws), path)

    async def full_diff_text(self, ws: Workspace) -> str:
        """The whole unified diff against the base (binary files named, not shown)."""
        async with self._in_words(ws, "read the workspace's diff"):
            raw = await review.full_patch(ws, self._git(ws))
        return raw.decode("utf-8", errors="replace")

    async def revert_hunk(
        self, ws: Workspace, path: str, hunk_index: int, *, expected_id: str | None = None
    ) -> None:
        """Undo hunk `hunk_index` of `path`; `expected_id` (a `Hunk.id`) guards a stale view."""
        await review.revert_hunk(ws, self._git(ws), path, hunk_index, expected_id)

    async def revert_file(self, ws: Workspace, path: str) -> FileChange:
        """Put `path` back as at the base (deleting it if the task added it)."""
        return await review.revert_file(ws, self._git(ws), path)

    # -- publishing ---------------------------------------------------------------------------

    async def commit(
        self, ws: Workspace, message: str, model_name: str | None = None
    ) -> publish.CommitInfo | None:
        """Commit all changes (author from settings, `Assisted-by` trailer); None if clean.

        Refused while a merge left in the workspace (a plan's conflict) still has conflict
        markers in its files: committing would conclude the merge with them."""
        async with self._in_words(ws, "commit the workspace's changes"):
            git = self._git(ws)
            await refuse_unresolved_merge(git, ws.path)
            return await publish.commit(
                ws,
                git,
                message,
                author_name=self.author_name,
                author_email=self.author_email,
                model_name=model_name,
                assisted_by=self.assisted_by,
            )

    async def merge(self, ws: Workspace, branch: str, message: str) -> MergeResult:
        """Merge `branch` into the workspace's branch; on a conflict nothing changes."""
        return await merge_branch(
            self._git(ws), branch, message,
            author_name=self.author_name, author_email=self.author_email,
        )  # fmt: skip

    async def push(
        self, ws: Workspace, token: str | None = None, *, force: bool = False
    ) -> publish.PushResult:
        """Push the task branch to the repository's remote; the token never leaves memory."""
        result = await publish.push(ws, self._git(ws), remote=ws.remote, token=token, force=force)
        record = await asyncio.to_thread(self.records.load, ws.task_id)
        if record is not None:
            await self._save(record.model_copy(update={"pushed_sha": result.sha}))
        return result

    async def work_state(self, ws: Workspace) -> publish.WorkState:
        """Uncommitted files and unpushed commits: what removing the workspace would lose."""
        record = await asyncio.to_thread(self.records.load, ws.task_id)
        repo_git = Git(git_dir=ws.common_dir, cwd=ws.common_dir, timeout=self.git_timeout)
        ws_git = self._git(ws) if ws.path.is_dir() and ws.git_dir.is_dir() else None
        return await publish.work_state(
            ws, repo_git, ws_git, pushed_sha=record.pushed_sha if record else None
        )

    # -- cleaning up --------------------------------------------------------------------------

    async def remove(
        self, ws: Workspace, *, force: bool = False, keep_branch: bool = False
    ) -> RemovalReport:
        """Remove the worktree (and its branch unless `keep_branch`).

        Refuses, with a `WorkspaceError` saying what would be lost, when the workspace has
        uncommitted changes, or commits that are nowhere else and the branch would be
        deleted, unless `force`.
        """
        state = await self.work_state(ws)
        lose_commits = state.unpushed_commits if not keep_branch else 0
        if not force and (state.dirty_files or lose_commits):
            parts = []
            if state.dirty_files:
                parts.append(f"{len(state.dirty_files)} uncommitted file(s)")
            if lose_commits:
                parts.append(f"{lose_commits} commit(s) not pushed anywhere")
            raise WorkspaceError(
                f"workspace {ws.path} has {' and '.join(parts)}; not removed",
                hint="commit and push first, keep the branch, or remove with force to discard",
            )
        repo_git = Git(git_dir=ws.common_dir, cwd=ws.common_dir, timeout=self.git_timeout)
        deleted = False
        async with self.locks.hold(
            ws.repo.key, wait=self.lock_wait, what=f"repository {ws.repo.label}"
        ):
            await drop_worktree(repo_git, ws.path)
            if not keep_branch and state.head_sha is not None:
                await repo_git.run("branch", "-D", "--", ws.branch)
                deleted = True
        await asyncio.to_thread(self._forget, ws.task_id)
        return RemovalReport(
            task_id=ws.task_id,
            removed=True,
            branch_deleted=deleted,
            discarded_files=len(state.dirty_files),
            discarded_commits=lose_commits,
        )

    def _forget(self, task_id: str) -> None:
        self.records.delete(task_id)
        (self.log_dir / f"{task_id}-setup.log").unlink(missing_ok=True)

    async def find_orphans(
        self, active_task_ids: Collection[object] | None = None
    ) -> list[orphans.Orphan]:
        """Workspaces left behind: interrupted set-ups, vanished folders, unknown folders, and
        (when `active_task_ids` is given) workspaces of tasks not in it."""
        active = None if active_task_ids is None else {str(t) for t in active_task_ids}
        return await orphans.find(self, active)

    async def reclaim(self, orphan: orphans.Orphan, *, force: bool = False) -> bool:
        """Clean up one orphan; False when it holds unsaved work and `force` is not set."""
        return await orphans.reclaim(self, orphan, force=force)
