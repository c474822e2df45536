"""What runs produce: executions (one agent run each), typed results, commits and branches."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor


async def start_execution(
    db: Executor, *, task_id: UUID, agent_kind: str, model: str, attempt: int, worker_id: str
) -> UUID:
    value: UUID = await db.fetchval(
        """INSERT INTO executions (task_id, agent_kind, model, attempt, worker_id)
           VALUES ($1, $2, $3, $4, $5) RETURNING id""",
        task_id,
        agent_kind,
        model,
        max(1, attempt),
        worker_id,
    )
    return value


async def finish_execution(
    db: Executor,
    execution_id: UUID,
    *,
    status: str,
    exit_status: str | None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cost: Decimal = Decimal(0),
    steps: int = 0,
    files_changed: int = 0,
    lines_added: int = 0,
    lines_removed: int = 0,
    error: str | None = None,
) -> None:
    await db.execute(
        """UPDATE executions SET status = $2, exit_status = $3, input_tokens = $4,
               output_tokens = $5, cache_read_tokens = $6, cache_write_tokens = $7, cost = $8,
               steps = $9, files_changed = $10, lines_added = $11, lines_removed = $12,
               error = $13, finished_at = now(),
               duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint
           WHERE id = $1""",
        execution_id,
        status,
        exit_status,
        input_tokens,
        output_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cost,
        steps,
        files_changed,
        lines_added,
        lines_removed,
        error,
    )


async def add_result(
    db: Executor, task_id: UUID, result_type: str, content: dict[str, Any]
) -> None:
    await db.execute(
        "INSERT INTO task_results (task_id, result_type, content) VALUES ($1, $2, $3)",
        task_id,
        result_type,
        content,
    )


async def list_results(db: Executor, task_id: UUID) -> list[dict[str, Any]]:
    rows = await db.fetch(
        """SELECT result_type, content, created_at FROM task_results
           WHERE task_id = $1 ORDER BY created_at""",
        task_id,
    )
    return [dict(r) for r in rows]


async def record_commit(
    db: Executor,
    *,
    repository_id: UUID,
    task_id: UUID,
    sha: str,
    branch: str,
    message: str,
    files_changed: int,
    lines_added: int,
    lines_removed: int,
) -> None:
    await db.execute(
        """INSERT INTO commits (repository_id, task_id, sha, branch, message, files_changed,
                                lines_added, lines_removed)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (repository_id, sha) DO NOTHING""",
        repository_id,
        task_id,
        sha,
        branch,
        message,
        files_changed,
        lines_added,
        lines_removed,
    )


async def upsert_branch(
    db: Executor,
    *,
    repository_id: UUID,
    task_id: UUID,
    name: str,
    base_branch: str | None,
    head_sha: str | None,
    pushed: bool | None = None,
) -> None:
    await db.execute(
        """INSERT INTO git_branches (repository_id, task_id, name, base_branch, head_sha, pushed)
           VALUES ($1, $2, $3, $4, $5, coalesce($6, false))
           ON CONFLICT (repository_id, name) DO UPDATE SET task_id = EXCLUDED.task_id,
               head_sha = coalesce(EXCLUDED.head_sha, git_branches.head_sha),
               pushed = coalesce($6, git_branches.pushed), deleted = false""",
        repository_id,
        task_id,
        name,
        base_branch,
        head_sha,
        pushed,
    )


async def mark_commits_pushed(db: Executor, task_id: UUID) -> None:
    await db.execute(
        "UPDATE commits SET pushed_at = now() WHERE task_id = $1 AND pushed_at IS NULL", task_id
    )


async def record_workspace(
    db: Executor,
    *,
    task_id: UUID,
    attempt: int,
    path: str,
    branch: str,
    base_sha: str | None,
    worker_id: str,
    sandbox_kind: str,
) -> None:
    await db.execute(
        """INSERT INTO workspaces (task_id, attempt, path, branch, base_sha, worker_id, status,
                                   sandbox_kind)
           VALUES ($1, $2, $3, $4, $5, $6, 'running', $7)
           ON CONFLICT (task_id, attempt) DO UPDATE SET status = 'running',
               worker_id = EXCLUDED.worker_id, last_active_at = now()""",
        task_id,
        max(1, attempt),
        path,
        branch,
        base_sha,
        worker_id,
        sandbox_kind,
    )


async def set_workspace_status(db: Executor, task_id: UUID, status: str) -> None:
    await db.execute(
        """UPDATE workspaces SET status = $2, last_active_at = now()
           WHERE task_id = $1 AND status <> 'removed'""",
        task_id,
        status,
    )
