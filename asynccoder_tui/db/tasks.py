"""Tasks: insert, read, and list with keyset pagination. The queue's SQL is in `db/queue.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.enums import Priority, ProviderKind, TaskMode
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import TaskFilter, TaskPageCursor

COLUMNS = """t.id, t.owner_id, t.repository_id, t.parent_id, t.model, t.provider, t.agent_kind, t.title, t.prompt,
    t.mode, t.priority, t.status, t.base_branch, t.work_branch, t.attempt, t.max_attempts,
    t.run_after, t.lease_owner, t.lease_expires_at, t.cancel_requested, t.billing_run, t.run_cost,
    t.estimated_credits, t.held_credits, t.used_credits, t.input_tokens, t.output_tokens, t.cost, t.error, t.exit_status, t.summary,
    t.commit_sha, t.files_changed, t.lines_added, t.lines_removed, t.created_at, t.updated_at,
    t.started_at, t.completed_at,
    (SELECT p.url FROM pull_requests p WHERE p.task_id = t.id
      ORDER BY p.created_at DESC LIMIT 1) AS pr_url,
    (SELECT p.state FROM pull_requests p WHERE p.task_id = t.id
      ORDER BY p.created_at DESC LIMIT 1) AS pr_state"""


@dataclass(frozen=True)
class NewTask:
    owner_id: UUID
    repository_id: UUID
    model: str
    title: str
    prompt: str
    provider: ProviderKind = ProviderKind.SCRIPTED
    mode: TaskMode = TaskMode.CODE
    priority: Priority = Priority.MEDIUM
    base_branch: str | None = None
    max_attempts: int = 3
    estimated_credits: int = 0
    parent_id: UUID | None = None
    agent_kind: str | None = None


async def insert_task(db: Executor, new: NewTask) -> Task:
    row = await db.fetchrow(
        f"""WITH t AS (
                INSERT INTO tasks (owner_id, repository_id, parent_id, model, agent_kind, title,
                                   prompt, mode, priority, base_branch, max_attempts,
                                   estimated_credits, provider)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                RETURNING *)
            SELECT {COLUMNS} FROM t""",
        new.owner_id,
        new.repository_id,
        new.parent_id,
        new.model,
        new.agent_kind,
        new.title,
        new.prompt,
        new.mode.value,
        new.priority.value,
        new.base_branch,
        new.max_attempts,
        new.estimated_credits,
        new.provider.value,
    )
    task = one(Task, row)
    assert task is not None
    return task


async def get_task(db: Executor, task_id: UUID) -> Task:
    task = one(Task, await db.fetchrow(f"SELECT {COLUMNS} FROM tasks t WHERE t.id = $1", task_id))
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    return task


async def find_task(db: Executor, owner_id: UUID, ref: str) -> Task:
    """A task by full id or by a unique id prefix of at least 4 characters."""
    ref = ref.strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef-" for c in ref):
        raise NotFoundError(f"task {ref!r} not found", hint="give the id or its first 8 characters")
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.owner_id = $1 AND t.id::text LIKE $2 || '%' LIMIT 2""",
        owner_id,
        ref,
    )
    if not rows:
        raise NotFoundError(f"task {ref!r} not found")
    if len(rows) > 1:
        raise NotFoundError(f"task id prefix {ref!r} is ambiguous", hint="give more characters")
    return Task.model_validate(dict(rows[0]))


async def list_tasks(
    db: Executor,
    owner_id: UUID,
    *,
    filters: TaskFilter | None = None,
    after: TaskPageCursor | None = None,
    limit: int = 100,
) -> list[Task]:
    """Newest first; pass the last row's cursor as `after` for the next page (no OFFSET)."""
    f = filters or TaskFilter()
    rows = await db.fetch(
        f"""SELECT {COLUMNS} FROM tasks t
            WHERE t.owner_id = $1
              AND ($2::uuid IS NULL OR t.repository_id = $2)
              AND (cardinality($3::text[]) = 0 OR t.status = ANY($3))
              AND ($4::text IS NULL OR t.mode = $4)
              AND ($5::text IS NULL OR t.search @@ plainto_tsquery('simple', $5)
                   OR t.title ILIKE '%' || $5 || '%')
              AND ($6::uuid IS NULL OR t.parent_id = $6)
              AND ($7::timestamptz IS NULL OR (t.created_at, t.id) < ($7, $8::uuid))
            ORDER BY t.created_at DESC, t.id DESC
            LIMIT $9""",
        owner_id,
        f.repository_id,
        [s.value for s in f.statuses],
        f.mode.value if f.mode else None,
        f.text or None,
        f.parent_id,
        after.created_at if after else None,
        after.id if after else None,
        max(1, min(limit, 1000)),
    )
    return many(Task, rows)


async def count_tasks_by_status(db: Executor, owner_id: UUID) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM tasks WHERE owner_id = $1 GROUP BY status", owner_id
    )
    return {r["status"]: r["n"] for r in rows}


async def get_conversation(db: Executor, task_id: UUID) -> list[dict[str, Any]] | None:
    """The stored agent conversation of a task (to resume it), or None."""
    value = await db.fetchval("SELECT conversation FROM tasks WHERE id = $1", task_id)
    return list(value) if value else None
