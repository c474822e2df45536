"""Best-of-N: one prompt as N sibling attempts (N up to 4, optionally different models), each
in its own worktree and tested with the repository's `test_command`; the user compares them
(diff stats, test result, review scores), may take hunks or files of one attempt's diff into
another (before picking: a discarded attempt's workspace is gone), picks one, and the others
are cleaned up (cancelled if still running, workspace and branch removed, marked discarded)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from decimal import Decimal
from uuid import UUID

from asynccoder_tui.db import attempts as attempts_db
from asynccoder_tui.db import events
from asynccoder_tui.db.attempts import AttemptRow
from asynccoder_tui.domain.enums import EventKind, TaskMode, TaskStatus
from asynccoder_tui.domain.errors import ConflictError, InputError, NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.review import task_workspace, workspace_manager
from asynccoder_tui.vcs import transplant
from asynccoder_tui.vcs.diff import FileDiff
from asynccoder_tui.vcs.review import workspace_git

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4


def attempt_models(text: str, default: str | None, attempts: int) -> list[str | None]:
    """The model of each attempt: the comma-separated names of `text` in turn, else
    `default`."""
    names: list[str | None] = [n.strip() for n in text.split(",") if n.strip()]
    chosen = names or [default]
    return [chosen[n % len(chosen)] for n in range(attempts)]


@dataclass(frozen=True)
class SummedCost:
    low: Decimal
    expected: Decimal
    high: Decimal
    estimated: bool


@dataclass(frozen=True)
class AttemptsEstimate:
    """What N attempts would cost and hold together (the new-task form's estimate)."""

    count: int
    cost: SummedCost
    expected_credits: int
    hold_credits: int
    balance: int

    @property
    def affordable(self) -> bool:
        return self.balance >= self.expected_credits


async def estimate_attempts(
    ctx: AppContext, prompt: str, models: list[str | None], *, mode: TaskMode = TaskMode.CODE
) -> AttemptsEstimate:
    """`task_service.estimate` for each attempt's model, summed (holds capped at the
    balance, as each submission holds at most what is left)."""
    each = {m: await task_service.estimate(ctx, prompt, model=m, mode=mode) for m in set(models)}
    ests = [each[m] for m in models]
    balance = ests[0].balance
    return AttemptsEstimate(
        count=len(ests),
        cost=SummedCost(
            low=sum((e.cost.low for e in ests), Decimal(0)),
            expected=sum((e.cost.expected for e in ests), Decimal(0)),
            high=sum((e.cost.high for e in ests), Decimal(0)),
            estimated=any(e.cost.estimated for e in ests),
        ),
        expected_credits=sum(e.expected_credits for e in ests),
        hold_credits=min(sum(e.hold_credits for e in ests), balance),
        balance=balance,
    )


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


@dataclass(frozen=True)
class AttemptHunk:
    """One hunk of an attempt's diff, numbered from 1 across the whole diff (files in order)."""

    number: int
    path: str
    index: int
    """Its index within the file's hunks."""
    header: str
    id: str
    added: int
    removed: int
    lines: list[str]


async def _sibling_pair(ctx: AppContext, source: str | UUID, into: str | UUID) -> tuple[Task, Task]:
    """(from, into): two attempts of one group, the source still with its workspace and the
    target not being worked on."""
    src = await task_service.get_task(ctx, source)
    dst = await task_service.get_task(ctx, into)
    if src.id == dst.id:
        raise InputError("take hunks from another attempt, not from the same one")
    rows = {r.id: r for r in await list_attempts(ctx, dst.id)}
    if src.id not in rows:
        raise InputError(
            f"task {str(src.id)[:8]} is not an attempt of the same group as {str(dst.id)[:8]}"
        )
    for row, what in ((rows[src.id], "taken from"), (rows[dst.id], "taken into")):
        if row.discarded:
            raise ConflictError(
                f"attempt {str(row.id)[:8]} was discarded; nothing can be {what} it",
                hint="take hunks before picking an attempt",
            )
    if not dst.status.is_final:
        raise ConflictError(
            f"attempt {str(dst.id)[:8]} is {dst.status.value}",
            hint="wait for it to finish, or cancel it, before taking hunks into it",
        )
    return src, dst


async def _diffs(ctx: AppContext, task: Task) -> list[FileDiff]:
    manager = workspace_manager(ctx)
    ws = await task_workspace(ctx, task)
    return [await manager.file_hunks(ws, change) for change in await manager.diff_files(ws)]


async def attempt_hunks(ctx: AppContext, ref: str | UUID) -> list[AttemptHunk]:
    """The hunks of an attempt's diff, numbered from 1 (what `take_hunk` takes)."""
    task = await task_service.get_task(ctx, ref)
    found: list[AttemptHunk] = []
    for diff in await _diffs(ctx, task):
        for hunk in diff.hunks:
            found.append(
                AttemptHunk(
                    number=len(found) + 1, path=diff.path, index=hunk.index, header=hunk.header,
                    id=hunk.id, added=hunk.added, removed=hunk.removed, lines=list(hunk.lines),
                )
            )  # fmt: skip
    return found


async def take_hunk(
    ctx: AppContext, source: str | UUID, number: int, *, into: str | UUID,
    expected_id: str | None = None,
) -> AttemptHunk:  # fmt: skip
    """Apply hunk `number` (from 1, see `attempt_hunks`) of attempt `source`'s diff to
    attempt `into`'s workspace. A hunk that does not apply raises `ConflictError` and changes
    nothing; `expected_id` (the hunk's id as shown) guards against a changed diff."""
    src, dst = await _sibling_pair(ctx, source, into)
    diffs = await _diffs(ctx, src)
    pairs = [(diff, hunk) for diff in diffs for hunk in diff.hunks]
    if not 1 <= number <= len(pairs):
        raise InputError(
            f"attempt {str(src.id)[:8]} has {len(pairs)} hunk(s); there is no hunk {number}",
            hint="list them with `asynccoder task take-hunk FROM --list`",
        )
    diff, hunk = pairs[number - 1]
    if expected_id is not None and hunk.id != expected_id:
        raise ConflictError(
            f"hunk {number} of attempt {str(src.id)[:8]} changed since it was shown",
            hint="reload the hunks and choose again",
        )
    what = f"hunk {number} ({diff.path} {hunk.header.split('@@')[1].strip()})"
    await _apply(ctx, dst, transplant.hunk_patch(diff, hunk), what, src)
    return AttemptHunk(
        number=number, path=diff.path, index=hunk.index, header=hunk.header, id=hunk.id,
        added=hunk.added, removed=hunk.removed, lines=list(hunk.lines),
    )  # fmt: skip


async def take_file(ctx: AppContext, source: str | UUID, path: str, *, into: str | UUID) -> None:
    """Apply the whole change of `path` in attempt `source` to attempt `into`'s workspace
    (all of it or, raising `ConflictError`, none of it)."""
    src, dst = await _sibling_pair(ctx, source, into)
    manager = workspace_manager(ctx)
    diff = await manager.file_hunks(await task_workspace(ctx, src), path)
    await _apply(ctx, dst, transplant.file_patch(diff), f"the change of {diff.path}", src)


async def _apply(ctx: AppContext, dst: Task, patch: bytes, what: str, src: Task) -> None:
    manager = workspace_manager(ctx)
    ws = await task_workspace(ctx, dst)
    await transplant.apply_patch(workspace_git(ws, manager.git_timeout), patch, what)
    await events.append_events(
        ctx.db.pool, dst.id,
        [(EventKind.STATUS, {"status": "hunk_taken",
                             "detail": f"took {what} from attempt {str(src.id)[:8]}"})],
    )  # fmt: skip
