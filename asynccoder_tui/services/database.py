"""Database administration for `asynccoder db ...`: migrate, status, url, stop."""

from __future__ import annotations

import asyncio
import os

from asynccoder_tui.config import Settings, redact_url
from asynccoder_tui.db.migrate import Migration, apply_migrations
from asynccoder_tui.db.pool import open_database, resolve_url
from asynccoder_tui.db.server import live_handles, start_embedded
from asynccoder_tui.db.status import DatabaseStatus, database_status
from asynccoder_tui.domain.errors import AsyncCoderError


async def migrate(settings: Settings) -> list[Migration]:
    db = await open_database(settings, migrate=False, max_size=2)
    try:
        return await apply_migrations(db.pool)
    finally:
        await db.close()


async def status(settings: Settings) -> tuple[str, bool, DatabaseStatus]:
    """The URL (password hidden), whether it is the embedded server, and the status."""
    db = await open_database(settings, migrate=False, max_size=2)
    try:
        return db.display_url, db.embedded is not None, await database_status(db.pool)
    finally:
        await db.close()


async def display_url(settings: Settings) -> str:
    url, _ = await resolve_url(settings)
    return redact_url(url)


async def stop_embedded(settings: Settings, *, force: bool = False) -> bool:
    """Stop the embedded server; False when it was not running."""
    if not settings.uses_embedded_db:
        raise AsyncCoderError("DATABASE_URL is set: there is no embedded database to stop")
    pgdata = settings.paths.pgdata
    if not (pgdata / "postmaster.pid").exists():
        return False
    others = [p for p in live_handles(pgdata) if p != os.getpid()]
    if others and not force:
        raise AsyncCoderError(
            f"the embedded database is in use by {len(others)} process(es): "
            + ", ".join(str(p) for p in others),
            hint="quit them first, or pass --force",
        )
    server = await asyncio.to_thread(start_embedded, pgdata, keep_running=True)
    await asyncio.to_thread(server.stop)
    return True
