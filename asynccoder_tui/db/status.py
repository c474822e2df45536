"""What `asynccoder db status` and `doctor` report: server version, migrations, row counts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from asynccoder_tui.db.migrate import AppliedMigration, applied_migrations, load_migrations
from asynccoder_tui.db.pool import Executor, connect_one


@dataclass(frozen=True)
class DatabaseStatus:
    server_version: str
    applied: list[AppliedMigration]
    pending: list[str]
    row_counts: dict[str, int]
    pgvector: bool


async def server_version(db: Executor) -> str:
    return str(await db.fetchval("SHOW server_version"))


async def database_status(db: Executor) -> DatabaseStatus:
    version = await server_version(db)
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


async def notify_roundtrip(url: str, *, timeout: float = 3.0) -> bool:
    """Whether a NOTIFY from one connection reaches a LISTEN on another within `timeout`."""
    listener = await connect_one(url)
    sender = await connect_one(url)
    got: asyncio.Queue[str] = asyncio.Queue()
    try:
        await listener.add_listener("asynccoder_doctor", lambda *a: got.put_nowait(a[3]))
        await sender.execute("SELECT pg_notify('asynccoder_doctor', 'ping')")
        try:
            await asyncio.wait_for(got.get(), timeout=timeout)
        except TimeoutError:
            return False
        return True
    finally:
        await listener.close()
        await sender.close()
