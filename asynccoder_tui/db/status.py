"""What `asynccoder db status` and `doctor` report: server version, migrations, row counts."""

from __future__ import annotations

from dataclasses import dataclass

from asynccoder_tui.db.migrate import AppliedMigration, applied_migrations, load_migrations
from asynccoder_tui.db.pool import Executor


@dataclass(frozen=True)
class DatabaseStatus:
    server_version: str
    applied: list[AppliedMigration]
    pending: list[str]
    row_counts: dict[str, int]
    pgvector: bool


async def database_status(db: Executor) -> DatabaseStatus:
    version = await db.fetchval("SHOW server_version")
    applied = await applied_migrations(db)
    done = {m.version for m in applied}
    pending = [f"{m.version:04d}_{m.name}" for m in load_migrations() if m.version not in done]
    tables = await db.fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY c.relname"""
    )
    counts: dict[str, int] = {}
    for row in tables:
        name = row["relname"]
        counts[name] = int(await db.fetchval(f'SELECT count(*) FROM "{name}"'))
    pgvector = bool(
        await db.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
    )
    return DatabaseStatus(
        server_version=str(version),
        applied=applied,
        pending=pending,
        row_counts=counts,
        pgvector=pgvector,
    )
