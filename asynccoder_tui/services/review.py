"""Review and publish a task's work: its diff, hunk and file reverts, reviewed marks, comments,
the pull request.

The diff is read from the task's workspace against the commit the task started from, so it
includes what the agent left uncommitted and what the reviewer reverted. Publishing commits
what is left, pushes the task branch with the user's token (never on a command line) and
opens the pull request; the `pull_requests` row is written only once GitHub has made it.

A file marked reviewed is marked as its content was (a fingerprint of it): when the agent, or
the reviewer's own revert, changes the file again, the mark no longer holds and the file shows
as changed since review until it is marked again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from asynccoder_tui.db import audit, pull_requests, repositories, results, review_marks
from asynccoder_tui.domain.enums import PullRequestState, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, InputError, NotFoundError, WorkspaceError
from asynccoder_tui.domain.models import PullRequest, Repository, ReviewMark, Task
from asynccoder_tui.services import reviews
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import github_client, resolve_token
from asynccoder_tui.vcs.diff import DiffStats, FileChange, FileDiff
from asynccoder_tui.vcs.fingerprint import file_fingerprints
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.spec import Workspace
from asynccoder_tui.vcs.workspace import WorkspaceManager

Progress = Callable[[str], None]


def workspace_manager(ctx: AppContext) -> WorkspaceManager:
    return WorkspaceManager.from_settings(ctx.settings)


async def task_workspace(ctx: AppContext, task: Task) -> Workspace:
    """The task's workspace, re-created on its branch if it was cleaned up."""
    manager = workspace_manager(ctx)
    ws = await manager.open(task.id)
    if ws is not None:
        return ws
    if task.work_branch is None:
        raise WorkspaceError(
            f"task {str(task.id)[:8]} has no workspace yet", hint="wait for it to start running"
        )
    repo = await repositories.get_repository(ctx.db.pool, task.repository_id)
    return await manager.prepare(
        repo, task_id=task.id, slug=task.title, base_branch=task.base_branch,
        token=await resolve_token(ctx) if repo.full_name else None,
    )  # fmt: skip


async def changed_files(ctx: AppContext, task_id: UUID, *, stats: bool = False) -> list[FileChange]:
    task = await task_service.get_task(ctx, task_id)
    return await workspace_manager(ctx).diff_files(await task_workspace(ctx, task), stats=stats)


async def diff_stats(ctx: AppContext, task_id: UUID) -> DiffStats:
    task = await task_service.get_task(ctx, task_id)
    return await workspace_manager(ctx).diff_stats(await task_workspace(ctx, task))


async def file_hunks(ctx: AppContext, task_id: UUID, path: str) -> FileDiff:
    task = await task_service.get_task(ctx, task_id)
    return await workspace_manager(ctx).file_hunks(await task_workspace(ctx, task), path)


async def full_diff(ctx: AppContext, task_id: UUID) -> str:
    task = await task_service.get_task(ctx, task_id)
    return await workspace_manager(ctx).full_diff_text(await task_workspace(ctx, task))


def _editable(task: Task) -> None:
    if task.status is TaskStatus.RUNNING:
        raise ConflictError(
            "the agent is still working on this task", hint="wait for it to finish, or cancel it"
        )


async def reject_hunk(
    ctx: AppContext, task_id: UUID, path: str, hunk_index: int, *, hunk_id: str | None = None
) -> None:
    """Revert one hunk in the workspace (`hunk_id` guards against a stale view)."""
    task = await task_service.get_task(ctx, task_id)
    _editable(task)
    await workspace_manager(ctx).revert_hunk(
        await task_workspace(ctx, task), path, hunk_index, expected_id=hunk_id
    )


async def reject_file(ctx: AppContext, task_id: UUID, path: str) -> None:
    task = await task_service.get_task(ctx, task_id)
    _editable(task)
    await workspace_manager(ctx).revert_file(await task_workspace(ctx, task), path)


@dataclass(frozen=True)
class FileReviewState:
    """A changed file's review state: its content's fingerprint now and what the marks say."""

    fingerprint: str
    reviewed: bool
    """Marked reviewed as it is now."""
    stale: bool
    """Marked reviewed once, and changed since."""


def _check_mark_path(path: str) -> None:
    if not path or len(path) > 4096 or "\x00" in path:
        raise InputError("that is not a path of this task's diff", hint="reload the diff")


async def mark_reviewed(
    ctx: AppContext, task_id: UUID, path: str, *, fingerprint: str | None = None
) -> str:
    """Mark `path` reviewed as of `fingerprint` (what the reviewer was shown; by default the
    file's content now). Returns the fingerprint marked."""
    _check_mark_path(path)
    task = await task_service.get_task(ctx, task_id)
    if fingerprint is None:
        ws = await task_workspace(ctx, task)
        change = next(
            (c for c in await workspace_manager(ctx).diff_files(ws) if c.path == path), None
        )
        if change is None:
            raise InputError(f"{path!r} has no changes in this task", hint="reload the diff")
        fingerprint = (await file_fingerprints(ws.path, [change]))[path]
    if not 1 <= len(fingerprint) <= 128:
        raise InputError("the file's fingerprint is not valid", hint="reload the diff")
    await review_marks.add_mark(ctx.db.pool, task.id, path, fingerprint, ctx.user.id)
    return fingerprint


async def unmark_reviewed(ctx: AppContext, task_id: UUID, path: str) -> int:
    """Take back `path`'s reviewed marks (of any content); returns how many there were."""
    _check_mark_path(path)
    task = await task_service.get_task(ctx, task_id)
    return await review_marks.remove_marks(ctx.db.pool, task.id, path)


async def list_review_marks(ctx: AppContext, task_id: UUID) -> list[ReviewMark]:
    task = await task_service.get_task(ctx, task_id)
    return await review_marks.list_marks(ctx.db.pool, task.id)


async def review_states(
    ctx: AppContext, task_id: UUID, changes: list[FileChange]
) -> dict[str, FileReviewState]:
    """Each changed file's fingerprint now and whether a mark holds for it (reads the files)."""
    task = await task_service.get_task(ctx, task_id)
    ws = await task_workspace(ctx, task)
    prints = await file_fingerprints(ws.path, changes)
    marked: dict[str, set[str]] = {}
    for mark in await review_marks.list_marks(ctx.db.pool, task.id):
        marked.setdefault(mark.path, set()).add(mark.fingerprint)
    states = {}
    for path, now in prints.items():
        seen = marked.get(path, set())
        states[path] = FileReviewState(now, now in seen, bool(seen) and now not in seen)
    return states


@dataclass(frozen=True)
class HunkComment:
    path: str
    line: int | None
    hunk_header: str
    text: str


def comments_message(comments: list[HunkComment]) -> str:
    parts = ["Review comments on your changes; address each one:"]
    for n, c in enumerate(comments, start=1):
        where = f"{c.path}:{c.line}" if c.line else c.path
        parts.append(f"{n}. {where} ({c.hunk_header.strip()})\n{c.text.strip()}")
    return "\n\n".join(parts)


async def send_comments(ctx: AppContext, task_id: UUID, comments: list[HunkComment]) -> Task:
    """Send the reviewer's hunk comments back to the agent as one follow-up."""
    kept = [c for c in comments if c.text.strip()]
    if not kept:
        raise InputError("there are no comments to send")
    return await task_service.follow_up(ctx, task_id, comments_message(kept))


_GITHUB_REMOTE = re.compile(
    r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


async def github_name(repo: Repository, ws: Workspace) -> str:
    """The `owner/name` pull requests go to: the GitHub repository, a local repository's
    `github` setting, or its remote when that is on GitHub."""
    if repo.full_name:
        return repo.full_name
    explicit = repo.settings.get("github")
    if isinstance(explicit, str) and explicit.count("/") == 1:
        return explicit
    url = (
        await Git(cwd=ws.common_dir, git_dir=ws.common_dir).run(
            "remote", "get-url", ws.remote, check=False
        )
    ).text.strip()
    match = _GITHUB_REMOTE.match(url)
    if match is None:
        raise ConflictError(
            f"repository {repo.display_name} has no GitHub remote to open a pull request on",
            hint="add a GitHub remote (git remote add origin https://github.com/OWNER/NAME.git), "
            "or name it with `asynccoder repo set REPO --github OWNER/NAME`",
        )
    return match.group(1)


def _plan_summary(summary: str) -> str | None:
    """A planner's summary is its plan as JSON: the subtasks as a list, or None."""
    if not summary.startswith("{"):
        return None
    try:
        subtasks = json.loads(summary).get("subtasks")
    except (ValueError, AttributeError):
        return None
    if not isinstance(subtasks, list) or not subtasks:
        return None
    lines = ["Done in subtasks:"]
    for n, sub in enumerate(subtasks, 1):
        if isinstance(sub, dict):
            role = f" ({sub['role']})" if isinstance(sub.get("role"), str) else ""
            lines.append(f"{n}. {str(sub.get('title') or 'untitled').strip()}{role}")
    return "\n".join(lines)


def default_body(task: Task) -> str:
    summary = (task.summary or "").strip()
    summary = _plan_summary(summary) or summary or "(no summary)"
    files = "1 file" if task.files_changed == 1 else f"{task.files_changed} files"
    stats = f"{files} changed, +{task.lines_added} -{task.lines_removed}"
    return f"{summary}\n\n---\n{stats}. Made with Async Coder (model: {task.model})."


async def create_pull_request(
    ctx: AppContext,
    task_id: UUID,
    *,
    title: str | None = None,
    body: str | None = None,
    draft: bool = False,
    progress: Progress | None = None,
) -> PullRequest:
    say = progress or (lambda _msg: None)
    task = await task_service.get_task(ctx, task_id)
    if task.status is not TaskStatus.COMPLETED:
        raise ConflictError(
            f"task {str(task.id)[:8]} is {task.status.value}; only completed tasks open pull requests"
        )
    existing = await pull_requests.for_task(ctx.db.pool, task.id)
    if existing is not None and existing.state in (PullRequestState.OPEN, PullRequestState.DRAFT):
        return existing
    await reviews.require_approval(ctx, task)
    repo = await repositories.get_repository(ctx.db.pool, task.repository_id)
    manager = workspace_manager(ctx)
    say("preparing the workspace")
    ws = await task_workspace(ctx, task)
    full_name = await github_name(repo, ws)
    pr_title = " ".join((title or task.title).split())[:250] or task.title
    say("committing")
    commit = await manager.commit(ws, f"{pr_title}\n\nReviewed changes.", model_name=task.model)
    stats = await manager.diff_stats(ws)
    if not stats.files_changed:
        raise ConflictError(
            f"task {str(task.id)[:8]} changed nothing against {ws.base_branch}: "
            "there is nothing for a pull request",
            hint="follow up with what to change, then open the pull request",
        )
    if commit is not None:
        await results.record_commit(
            ctx.db.pool, repository_id=repo.id, task_id=task.id, sha=commit.sha, branch=ws.branch,
            message=pr_title, files_changed=stats.files_changed, lines_added=stats.added,
            lines_removed=stats.removed,
        )  # fmt: skip
    token = await resolve_token(ctx)
    say(f"pushing {ws.branch}")
    pushed = await manager.push(ws, token)
    await results.upsert_branch(
        ctx.db.pool, repository_id=repo.id, task_id=task.id, name=ws.branch,
        base_branch=ws.base_branch, head_sha=pushed.sha, pushed=True,
    )  # fmt: skip
    await results.mark_commits_pushed(ctx.db.pool, task.id)
    say("opening the pull request")
    async with await github_client(ctx) as gh:
        info = await gh.create_pull_request(
            full_name, title=pr_title, body=body if body is not None else default_body(task),
            head=ws.branch, base=ws.base_branch, draft=draft,
        )  # fmt: skip
    pr = await pull_requests.record_pull_request(
        ctx.db.pool, task_id=task.id, repository_id=repo.id, number=info.number, url=info.url,
        title=info.title or pr_title, body=body or "", state=info.state, head_branch=ws.branch,
        base_branch=ws.base_branch,
    )  # fmt: skip
    await results.add_result(
        ctx.db.pool, task.id, "pr_created",
        {"number": info.number, "url": info.url, "existing": info.existing},
    )  # fmt: skip
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="pull_request.created", resource_type="task",
        resource_id=str(task.id), details={"repository": full_name, "number": info.number},
    )  # fmt: skip
    say(f"pull request #{info.number} {'linked' if info.existing else 'opened'}")
    return pr


async def sync_pull_request(ctx: AppContext, task_id: UUID) -> PullRequest:
    """Re-read the task's pull request state from GitHub."""
    pr = await pull_requests.for_task(ctx.db.pool, task_id)
    if pr is None:
        raise NotFoundError("this task has no pull request")
    repo = await repositories.get_repository(ctx.db.pool, pr.repository_id)
    full_name = repo.full_name or str(repo.settings.get("github") or "")
    if not full_name:
        raise ConflictError("cannot tell which GitHub repository the pull request is on")
    async with await github_client(ctx) as gh:
        info = await gh.get_pull_request(full_name, pr.number)
    await pull_requests.update_state(ctx.db.pool, pr.id, info.state, info.merged_at)
    refreshed = await pull_requests.for_task(ctx.db.pool, task_id)
    assert refreshed is not None
    return refreshed
