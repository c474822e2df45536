"""Repositories: local paths and GitHub repositories a user works on (soft-deleted, never dropped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import one
from asynccoder_tui.domain.enums import RepoStatus
from asynccoder_tui.domain.errors import ConflictError, NotFoundError
from asynccoder_tui.domain.models import Repository

_COLUMNS = """r.id, r.owner_id, r.kind, r.name, r.full_name, r.github_id, r.local_path, r.clone_url,
    r.default_branch, r.language, r.private, r.settings, r.status, r.created_at, r.updated_at"""


@dataclass(frozen=True)
class RepositoryRow:
    """A repository with the counts the repos pane shows."""

    repository: Repository
    open_tasks: int


async def add_local(
    db: Executor, owner_id: UUID, *, path: str, name: str, default_branch: str
) -> Repository:
    """Add a local repository, or bring back an archived one with the same path."""
    try:
        row = await db.fetchrow(
            f"""INSERT INTO repositories AS r (owner_id, kind, name, local_path, default_branch)
                VALUES ($1, 'local', $2, $3, $4)
                ON CONFLICT (owner_id, local_path) WHERE kind = 'local'
                DO UPDATE SET status = 'active', default_branch = EXCLUDED.default_branch
                    WHERE r.status <> 'active'
                RETURNING {_COLUMNS}""",
            owner_id,
            name,
            path,
            default_branch,
        )
    except asyncpg.CheckViolationError as err:
        raise ConflictError(f"cannot add repository {name!r}: {err}") from err
    if row is None:
        raise ConflictError(f"repository {path} is already added")
    repo = one(Repository, row)
    assert repo is not None
    return repo


async def upsert_github(
    db: Executor,
    owner_id: UUID,
    *,
    full_name: str,
    github_id: int | None,
    clone_url: str,
    default_branch: str,
    language: str | None,
    private: bool,
) -> Repository:
    """Insert or refresh a GitHub repository (sync calls this for every repository it sees)."""
    row = await db.fetchrow(
        f"""INSERT INTO repositories AS r
                (owner_id, kind, name, full_name, github_id, clone_url, default_branch, language,
                 private)
            VALUES ($1, 'github', split_part($2, '/', 2), $2, $3, $4, $5, $6, $7)
            ON CONFLICT (owner_id, full_name) WHERE kind = 'github'
            DO UPDATE SET github_id = EXCLUDED.github_id, clone_url = EXCLUDED.clone_url,
                default_branch = EXCLUDED.default_branch, language = EXCLUDED.language,
                private = EXCLUDED.private,
                status = CASE WHEN r.status = 'deleted' THEN 'active' ELSE r.status END
            RETURNING {_COLUMNS}""",
        owner_id,
        full_name,
        github_id,
        clone_url,
        default_branch,
        language,
        private,
    )
    repo = one(Repository, row)
    assert repo is not None
    return repo


async def get_repository(db: Executor, repo_id: UUID) -> Repository:
    repo = one(
        Repository,
        await db.fetchrow(f"SELECT {_COLUMNS} FROM repositories r WHERE r.id = $1", repo_id),
    )
    if repo is None:
        raise NotFoundError(f"repository {repo_id} not found")
    return repo


async def find_repository(db: Executor, owner_id: UUID, ref: str) -> Repository | None:
    """A repository by id, GitHub full name, name or local path (active ones first)."""
    row = await db.fetchrow(
        f"""SELECT {_COLUMNS} FROM repositories r
            WHERE r.owner_id = $1 AND r.status <> 'deleted'
              AND (r.id::text = $2 OR r.full_name = $2 OR r.local_path = $2 OR r.name = $2)
            ORDER BY (r.status = 'active') DESC, r.created_at
            LIMIT 1""",
        owner_id,
        ref,
    )
    return one(Repository, row)


async def list_repositories(
    db: Executor, owner_id: UUID, *, include_archived: bool = False, text: str | None = None
) -> list[RepositoryRow]:
    rows = await db.fetch(
        f"""SELECT {_COLUMNS},
                   -- One count a status, so each reads its own small partial index (the
                   -- queue's and the running tasks') and never the repository's history.
                   (SELECT count(*) FROM tasks t
                     WHERE t.repository_id = r.id AND t.status = 'queued')
                   + (SELECT count(*) FROM tasks t
                       WHERE t.repository_id = r.id AND t.status = 'running') AS open_tasks
            FROM repositories r
            WHERE r.owner_id = $1
              AND (r.status = 'active' OR ($2 AND r.status = 'archived'))
              AND ($3::text IS NULL OR coalesce(r.full_name, r.name) ILIKE '%' || $3 || '%')
            ORDER BY lower(coalesce(r.full_name, r.name))""",
        owner_id,
        include_archived,
        text,
    )
    return [
        RepositoryRow(repository=Repository.model_validate(dict(r)), open_tasks=r["open_tasks"])
        for r in rows
    ]


async def set_status(db: Executor, repo_id: UUID, status: RepoStatus) -> Repository:
    repo = one(
        Repository,
        await db.fetchrow(
            f"UPDATE repositories r SET status = $2 WHERE r.id = $1 RETURNING {_COLUMNS}",
            repo_id,
            status.value,
        ),
    )
    if repo is None:
        raise NotFoundError(f"repository {repo_id} not found")
    return repo


async def update_settings(db: Executor, repo_id: UUID, changes: dict[str, Any]) -> Repository:
    repo = one(
        Repository,
        await db.fetchrow(
            f"""UPDATE repositories r SET settings = r.settings || $2::jsonb
                WHERE r.id = $1 RETURNING {_COLUMNS}""",
            repo_id,
            changes,
        ),
    )
    if repo is None:
        raise NotFoundError(f"repository {repo_id} not found")
    return repo


async def count_repositories(db: Executor, owner_id: UUID) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM repositories WHERE owner_id = $1 AND status = 'active'", owner_id
        )
    )


__all__ = [
    "RepositoryRow",
    "add_local",
    "count_repositories",
    "find_repository",
    "get_repository",
    "list_repositories",
    "set_status",
    "update_settings",
    "upsert_github",
]
