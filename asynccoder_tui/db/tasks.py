"""Tasks: insert, read, and list with keyset pagination in each sort of `TaskSort`.

The queue's SQL is in `db/queue.py`. Reads for the screens (`get_task`, `find_task`,
`list_tasks`) also carry a plan parent's progress (children completed / in the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.enums import Priority, ProviderKind, TaskMode
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import STATUS_RANK, TaskFilter, TaskPageCursor, TaskSort

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

# What the screens read beyond `COLUMNS`: when the task last changed visibly (the "updated"
# sort), and a plan's progress: its children (those placed in the plan) and how many have
# completed, one probe of the children's index a row, made after the page's rows are chosen.
PROGRESS_COLUMNS = """t.changed_at, coalesce(k.done, 0) AS children_done,
    coalesce(k.total, 0) AS children_total"""
PROGRESS_JOIN = """LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE c.status = 'completed')::int AS done, count(*)::int AS total
        FROM tasks c WHERE c.parent_id = t.id AND c.plan_position IS NOT NULL) k ON true"""


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
    task = one(
        Task,
        await db.fetchrow(
            f"SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM tasks t {PROGRESS_JOIN} WHERE t.id = $1",
            task_id,
        ),
    )
    if task is None:
        raise NotFoundError(f"task {task_id} not found")
    return task


async def find_task(db: Executor, owner_id: UUID, ref: str) -> Task:
    """A task by full id or by a unique id prefix of at least 4 characters."""
    ref = ref.strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef-" for c in ref):
        raise NotFoundError(f"task {ref!r} not found", hint="give the id or its first 8 characters")
    rows = await db.fetch(
        f"""SELECT {COLUMNS}, {PROGRESS_COLUMNS} FROM tasks t {PROGRESS_JOIN}
            WHERE t.owner_id = $1 AND t.id::text LIKE $2 || '%' LIMIT 2""",
        owner_id,
        ref,
    )
    if not rows:
        raise NotFoundError(f"task {ref!r} not found")
    if len(rows) > 1:
        raise NotFoundError(f"task id prefix {ref!r} is ambiguous", hint="give more characters")
    return Task.model_validate(dict(rows[0]))


# Each sort: its ORDER BY, and the row value its keyset compares with the cursor's (the same
# columns, so that the comparison is a range of the sort's index: see migration 0006).
_ORDER: dict[TaskSort, tuple[str, str]] = {
    TaskSort.NEWEST: ("t.created_at DESC, t.id DESC", "(t.created_at, t.id)"),
    TaskSort.OLDEST: ("t.created_at, t.id", "(t.created_at, t.id)"),
    TaskSort.STATUS: (
        "task_status_rank(t.status) DESC, t.created_at DESC, t.id DESC",
        "(task_status_rank(t.status), t.created_at, t.id)",
    ),
    TaskSort.COST: ("t.cost DESC, t.id DESC", "(t.cost, t.id)"),
    TaskSort.UPDATED: ("t.changed_at DESC, t.id DESC", "(t.changed_at, t.id)"),
}


def _cursor_values(after: TaskPageCursor) -> list[tuple[Any, str]]:
    """The cursor's key values with their SQL types, in `_ORDER`'s column order."""
    if after.sort is TaskSort.STATUS:
        return [(after.rank, "smallint"), (after.created_at, "timestamptz"), (after.id, "uuid")]
    if after.sort is TaskSort.COST:
        return [(after.cost, "numeric"), (after.id, "uuid")]
    if after.sort is TaskSort.UPDATED:
        return [(after.changed_at or after.created_at, "timestamptz"), (after.id, "uuid")]
    return [(after.created_at, "timestamptz"), (after.id, "uuid")]


def _list_query(
    owner_id: UUID, f: TaskFilter, after: TaskPageCursor | None, limit: int
) -> tuple[str, list[Any]]:
    """The list's SQL, holding only the conditions in use: a condition that a parameter
    switches off (`$2 IS NULL OR ...`) would keep a generic plan from using the sort's index."""
    args: list[Any] = [owner_id]

    def arg(value: Any, cast: str) -> str:
        args.append(value)
        return f"${len(args)}::{cast}"

    where = ["t.owner_id = $1"]
    if f.repository_id is not None:
        where.append(f"t.repository_id = {arg(f.repository_id, 'uuid')}")
    if f.statuses:
        # As a range of the status index (every filter the screens offer is one: active,
        # completed, failed or cancelled), so that a status few tasks have is found at once.
        ranks = sorted({STATUS_RANK[s] for s in f.statuses})
        low, high = arg(ranks[0], "smallint"), arg(ranks[-1], "smallint")
        where.append(f"task_status_rank(t.status) BETWEEN {low} AND {high}")
        if len(ranks) != ranks[-1] - ranks[0] + 1:  # a range with gaps: name the statuses
            where.append(f"t.status = ANY({arg([s.value for s in f.statuses], 'text[]')})")
    if f.mode is not None:
        where.append(f"t.mode = {arg(f.mode.value, 'text')}")
    if f.text:
        text = arg(f.text, "text")
        where.append(
            # The words' index finds the matching ids once (a hashed subplan), not per row.
            f"""(t.id IN (SELECT s.task_id FROM task_search s
                          WHERE s.search @@ plainto_tsquery('simple', {text}))
                 OR t.title ILIKE '%' || {text} || '%')"""
        )
    if f.parent_id is not None:
        where.append(f"t.parent_id = {arg(f.parent_id, 'uuid')}")
    if f.ids:
        where.append(f"t.id = ANY({arg(list(f.ids), 'uuid[]')})")
    order, key = _ORDER[f.sort]
    if after is not None:
        if after.sort is not f.sort:
            raise ValueError(f"a {after.sort} cursor cannot page a {f.sort} list")
        values = ", ".join(arg(v, cast) for v, cast in _cursor_values(after))
        where.append(f"{key} {'<' if f.sort.descending else '>'} ({values})")
    sql = f"""SELECT {COLUMNS}, {PROGRESS_COLUMNS}
              FROM (SELECT t.* FROM tasks t WHERE {" AND ".join(where)}
                    ORDER BY {order} LIMIT {arg(max(1, min(limit, 1000)), "int")}) t
              {PROGRESS_JOIN}
              ORDER BY {order}"""
    return sql, args


async def list_tasks(
    db: Executor,
    owner_id: UUID,
    *,
    filters: TaskFilter | None = None,
    after: TaskPageCursor | None = None,
    limit: int = 100,
) -> list[Task]:
    """A page of the owner's tasks in `filters.sort` order (newest first by default); pass
    `TaskPageCursor.after(last_row, sort)` as `after` for the next page (keyset, no OFFSET)."""
    sql, args = _list_query(owner_id, filters or TaskFilter(), after, limit)
    return many(Task, await db.fetch(sql, *args))


async def count_tasks_by_status(db: Executor, owner_id: UUID) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT status, count(*) AS n FROM tasks WHERE owner_id = $1 GROUP BY status", owner_id
    )
    return {r["status"]: r["n"] for r in rows}


async def get_conversation(db: Executor, task_id: UUID) -> list[dict[str, Any]] | None:
    """The stored agent conversation of a task (to resume it), or None."""
    value = await db.fetchval("SELECT conversation FROM tasks WHERE id = $1", task_id)
    return list(value) if value else None
