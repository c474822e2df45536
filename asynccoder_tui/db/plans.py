"""Plans and the children of a plan: the proposed subtasks, the children queued from them
(blocked at `run_after = 'infinity'` until their dependencies are merged or skipped), and their
progress (a skipped child counts as done)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class PlanRow:
    task_id: UUID
    status: str
    subtasks: list[dict[str, Any]]
    problem: dict[str, Any] | None


@dataclass(frozen=True)
class Child:
    id: UUID
    position: int
    title: str
    status: str
    work_branch: str | None
    merged: bool
    """Merged into the parent, or skipped (then `skipped` too)."""
    depends_on: list[UUID]
    skipped: bool = False


async def save_plan(db: Executor, task_id: UUID, subtasks: list[dict[str, Any]]) -> None:
    """Propose (or propose again) the task's plan."""
    await db.execute(
        """INSERT INTO task_plans (task_id, subtasks) VALUES ($1, $2)
           ON CONFLICT (task_id) DO UPDATE SET subtasks = excluded.subtasks,
               status = 'proposed', problem = NULL""",
        task_id,
        subtasks,
    )


async def get_plan(db: Executor, task_id: UUID, *, lock: bool = False) -> PlanRow | None:
    row = await db.fetchrow(
        "SELECT task_id, status, subtasks, problem FROM task_plans WHERE task_id = $1"
        + (" FOR UPDATE" if lock else ""),
        task_id,
    )
    return None if row is None else PlanRow(**dict(row))


async def update_plan(
    db: Executor,
    task_id: UUID,
    *,
    status: str | None = None,
    subtasks: list[dict[str, Any]] | None = None,
    problem: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        """UPDATE task_plans SET status = coalesce($2, status),
               subtasks = coalesce($3, subtasks), problem = $4 WHERE task_id = $1""",
        task_id,
        status,
        subtasks,
        problem,
    )


async def add_dependency(db: Executor, task_id: UUID, depends_on: UUID) -> None:
    await db.execute(
        "INSERT INTO task_dependencies (task_id, depends_on_id) VALUES ($1, $2)",
        task_id,
        depends_on,
    )


async def place_child(db: Executor, task_id: UUID, position: int, *, blocked: bool) -> None:
    """Give a child its place in the plan; a blocked one waits at `run_after = 'infinity'`."""
    await db.execute(
        """UPDATE tasks SET plan_position = $2,
               run_after = CASE WHEN $3 THEN 'infinity'::timestamptz ELSE run_after END
           WHERE id = $1""",
        task_id,
        position,
        blocked,
    )


async def children(db: Executor, parent_id: UUID) -> list[Child]:
    """The plan's children in plan order, with their dependencies."""
    rows = await db.fetch(
        """SELECT t.id, t.plan_position AS position, t.title, t.status, t.work_branch,
                  t.merged_at IS NOT NULL AS merged, t.discarded_at IS NOT NULL AS skipped,
                  coalesce(array_agg(d.depends_on_id) FILTER (WHERE d.depends_on_id IS NOT NULL),
                           '{}') AS depends_on
           FROM tasks t LEFT JOIN task_dependencies d ON d.task_id = t.id
           WHERE t.parent_id = $1 AND t.plan_position IS NOT NULL
           GROUP BY t.id ORDER BY t.plan_position""",
        parent_id,
    )
    return [Child(**{**dict(r), "depends_on": list(r["depends_on"])}) for r in rows]


async def mark_merged(db: Executor, task_id: UUID) -> None:
    await db.execute("UPDATE tasks SET merged_at = now() WHERE id = $1", task_id)


async def mark_skipped(db: Executor, task_id: UUID) -> None:
    """Leave a child out of its plan: counted as done (its dependents may run) and marked
    discarded, without its changes."""
    await db.execute(
        """UPDATE tasks SET merged_at = coalesce(merged_at, now()),
               discarded_at = coalesce(discarded_at, now()) WHERE id = $1""",
        task_id,
    )


async def release_ready(db: Executor, parent_id: UUID) -> list[UUID]:
    """Queue now the blocked children whose dependencies are all merged; returns their ids."""
    rows = await db.fetch(
        """UPDATE tasks t SET run_after = now()
           WHERE t.parent_id = $1 AND t.status = 'queued' AND t.run_after = 'infinity'
             AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dep
                                ON dep.id = d.depends_on_id
                             WHERE d.task_id = t.id AND dep.merged_at IS NULL)
           RETURNING t.id""",
        parent_id,
    )
    return [r["id"] for r in rows]


async def progress(db: Executor, parent_id: UUID) -> tuple[int, int]:
    """(children merged, children in the plan)."""
    row = await db.fetchrow(
        """SELECT count(*) FILTER (WHERE merged_at IS NOT NULL)::int AS done, count(*)::int AS total
           FROM tasks WHERE parent_id = $1 AND plan_position IS NOT NULL""",
        parent_id,
    )
    assert row is not None
    return int(row["done"]), int(row["total"])


async def lock_plan(db: Executor, parent_id: UUID) -> None:
    """Serialize the merges of one plan until the caller's transaction ends."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"plan:{parent_id}")


async def set_parent_diff(
    db: Executor, parent_id: UUID, *, commit_sha: str | None, files: int, added: int, removed: int
) -> None:
    """The parent's head and diff stats after a child's branch was merged into it."""
    await db.execute(
        """UPDATE tasks SET commit_sha = $2, files_changed = $3, lines_added = $4,
               lines_removed = $5 WHERE id = $1""",
        parent_id, commit_sha, files, added, removed,
    )  # fmt: skip
