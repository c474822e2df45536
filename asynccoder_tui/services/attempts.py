"""Best-of-N: one prompt as N sibling attempts (N up to 4, optionally different models), each
in its own worktree and tested with the repository's `test_command`; the user compares them
(diff stats, test result, review scores), picks one, and the others are cleaned up (cancelled
if still running, workspace and branch removed, marked discarded)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from uuid import UUID

from asynccoder_tui.db import attempts as attempts_db
from asynccoder_tui.db import events
from asynccoder_tui.db.attempts import AttemptRow
from asynccoder_tui.domain.enums import EventKind, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, InputError, NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.review import workspace_manager

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4


async def submit_attempts(
    ctx: AppContext, request: task_service.SubmitRequest, attempts: int,
    models: list[str] | None = None,
) -> list[Task]:  # fmt: skip
    """Submit `request` as `attempts` sibling tasks; `models` are used in turn (default: the
    request's model for each)."""
    if not 1 <= attempts <= MAX_ATTEMPTS:
        raise InputError(f"attempts must be between 1 and {MAX_ATTEMPTS}, not {attempts}")
    if request.mode.read_only:
        raise InputError("best-of-N needs a mode that changes code")
    chosen: list[str | None] = [m for m in (models or []) if m.strip()] or [request.model]
    title = task_service.title_from(request.title or request.prompt, limit=60)
    made: list[Task] = []
    for n in range(attempts):
        one = replace(
            request, model=chosen[n % len(chosen)], title=f"{title} (attempt {n + 1}/{attempts})"
        )
        made.append(await task_service.submit(ctx, one))
    if attempts > 1:
        await attempts_db.group(ctx.db.pool, [t.id for t in made])
    return [await task_service.get_task(ctx, t.id) for t in made]


async def list_attempts(ctx: AppContext, ref: str | UUID) -> list[AttemptRow]:
    """The attempts of the task's group, oldest first (the task alone if it has none)."""
    task = await task_service.get_task(ctx, ref)
    group = await attempts_db.group_of(ctx.db.pool, task.id)
    if group is None:
        raise NotFoundError(f"task {str(task.id)[:8]} is not one of several attempts")
    return await attempts_db.siblings(ctx.db.pool, group)


async def pick(ctx: AppContext, ref: str | UUID) -> list[UUID]:
    """Keep this attempt; cancel and clean up its siblings. Returns the discarded ids."""
    task = await task_service.get_task(ctx, ref)
    if task.status is not TaskStatus.COMPLETED:
        raise ConflictError("pick a completed attempt")
    siblings = await list_attempts(ctx, task.id)
    if any(s.id == task.id and s.discarded for s in siblings):
        raise ConflictError("this attempt was already discarded")
    manager = workspace_manager(ctx)
    discarded: list[UUID] = []
    for other in siblings:
        if other.id == task.id or other.discarded:
            continue
        if other.status in ("queued", "running"):
            with contextlib.suppress(ConflictError):
                await task_service.cancel(ctx, other.id)
        ws = await manager.open(other.id)
        if ws is not None:
            try:
                await manager.remove(ws, force=True)
            except Exception as err:  # the row is still discarded; the workspace is reclaimed later
                log.warning("removing a discarded attempt's workspace failed: %s", err)
        await attempts_db.discard(ctx.db.pool, other.id)
        await events.append_events(
            ctx.db.pool, other.id,
            [(EventKind.STATUS, {"status": "discarded",
                                 "detail": f"attempt {str(task.id)[:8]} was picked instead"})],
        )  # fmt: skip
        discarded.append(other.id)
    await events.append_events(
        ctx.db.pool, task.id,
        [(EventKind.STATUS, {"status": "picked",
                             "detail": f"picked over {len(discarded)} other attempt(s)"})],
    )  # fmt: skip
    return discarded
