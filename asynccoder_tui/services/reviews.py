"""The reviewer's verdicts on a user's tasks: list them, send requested changes back to the
coder as a follow-up, turn automatic review off/on/required per repository, and the gate a
pull request passes when review is required."""

from __future__ import annotations

from uuid import UUID

from asynccoder_tui.db import events, repositories
from asynccoder_tui.db import reviews as reviews_db
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.domain.models import Repository, Review, Task
from asynccoder_tui.services import repos as repo_service
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext

REVIEW_MODES = ("off", "on", "required")


async def list_reviews(ctx: AppContext, ref: str | UUID) -> list[Review]:
    """The task's reviews, newest first (the task must be the user's)."""
    task = await task_service.get_task(ctx, ref)
    return await reviews_db.list_reviews(ctx.db.pool, task.id)


async def latest_review(ctx: AppContext, ref: str | UUID) -> Review | None:
    found = await list_reviews(ctx, ref)
    return found[0] if found else None


async def review_tasks(ctx: AppContext, ref: str | UUID) -> list[tuple[UUID, str]]:
    """The reviewer tasks run for a task (id, status), newest first."""
    task = await task_service.get_task(ctx, ref)
    return await reviews_db.review_children(ctx.db.pool, task.id)


def changes_message(review: Review) -> str:
    """The follow-up that sends a review's findings back to the coder."""
    lines = [f"A reviewer asked for changes: {review.summary.strip()}".rstrip()]
    for title, findings in (("Issues", review.issues), ("Suggestions", review.suggestions)):
        if findings:
            lines.append(f"\n{title}:")
        for f in findings:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            severity = f"[{f.severity}] " if f.severity else ""
            lines.append(f"- {severity}{where + ': ' if where else ''}{f.message}")
    lines.append("\nAddress each issue, then finish with what you changed.")
    return "\n".join(lines)


async def send_back(ctx: AppContext, ref: str | UUID) -> Task:
    """Send the latest review's requested changes to the coder (a follow-up of the task)."""
    review = await latest_review(ctx, ref)
    if review is None:
        raise ConflictError("this task has no review yet")
    if review.status == "approved":
        raise ConflictError("the latest review approved the task; nothing to send back")
    message = changes_message(review)
    if await _already_sent(ctx, review, message):
        raise ConflictError(
            "this review was already sent back to the coder",
            hint="its next commit is reviewed again; send that review back if it asks for more",
        )
    return await task_service.follow_up(ctx, review.task_id, message)


async def _already_sent(ctx: AppContext, review: Review, message: str) -> bool:
    """Whether the task's transcript holds `message` as a user message since the review."""
    for event in await events.list_events(ctx.db.pool, review.task_id):
        if event.kind is not EventKind.MESSAGE or event.payload.get("role") != "user":
            continue
        if review.created_at and event.created_at and event.created_at < review.created_at:
            continue
        if str(event.payload.get("text") or "").strip() == message.strip():
            return True
    return False


async def set_review_mode(
    ctx: AppContext, repo_ref: str, mode: str, *, model: str | None = None
) -> Repository:
    """Automatic review for a repository: off, on, or required before a pull request; `model`
    picks the reviewer's model (else the reviewer agent's default)."""
    mode = mode.strip().lower()
    if mode not in REVIEW_MODES:
        raise InputError(f"review must be one of {', '.join(REVIEW_MODES)}, not {mode!r}")
    repo = await repo_service.find(ctx, repo_ref)
    changes: dict[str, object] = {"review": mode}
    if model is not None:
        changes["review_model"] = model.strip() or None
    return await repositories.update_settings(ctx.db.pool, repo.id, changes)


async def require_approval(ctx: AppContext, task: Task) -> None:
    """Refuse (`ConflictError`) a pull request for a task whose repository requires review and
    whose current commit has no approved review."""
    repo = await repositories.get_repository(ctx.db.pool, task.repository_id)
    if str(repo.settings.get("review") or "off").lower() != "required":
        return
    if await reviews_db.approved_for(ctx.db.pool, task.id, task.commit_sha):
        return
    raise ConflictError(
        "this repository requires an approved review before a pull request, and the task's "
        "current commit has none",
        hint="wait for the reviewer, or send its requested changes back to the coder",
    )
