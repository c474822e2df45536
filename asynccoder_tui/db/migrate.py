"""Forward-only numbered SQL migrations, applied in one transaction under an advisory lock.

Files are `db/migrations/NNNN_name.sql`. Each applied migration is recorded in
`schema_migrations` with the SHA-256 of its text; an applied migration whose file has since
changed is refused (`MigrationError`), as is a database that has migrations this program does
not know (it is newer than the program). Two processes migrating at once is safe: the second
waits for the lock, then finds nothing left to apply.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import asyncpg

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.errors import MigrationError

# Any fixed 64-bit key: "asynccoder migrations".
_LOCK_KEY = 0x6173796E63636F64
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """The migrations shipped with the package (or in `directory`), in version order."""
    found: list[Migration] = []
    if directory is None:
        files = [
            (f.name, f.read_text(encoding="utf-8"))
            for f in resources.files("asynccoder_tui.db").joinpath("migrations").iterdir()
            if f.name.endswith(".sql")
        ]
    else:
        files = [(f.name, f.read_text(encoding="utf-8")) for f in directory.glob("*.sql")]
    for filename, sql in files:
        match = _NAME.match(filename)
        if not match:
            raise MigrationError(f"migration file name {filename!r} is not NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), sql))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return found


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def applied_migrations(db: Executor) -> list[AppliedMigration]:
    exists = await db.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return []
    rows = await db.fetch(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    )
    return [AppliedMigration(**dict(r)) for r in rows]


def _check_history(applied: list[AppliedMigration], known: list[Migration]) -> list[Migration]:
    by_version = {m.version: m for m in known}
    for row in applied:
        mig = by_version.get(row.version)
        if mig is None:
            raise MigrationError(
                f"the database has migration {row.version:04d}_{row.name}, which this version "
                "of asynccoder does not know",
                hint="upgrade asynccoder to the version that created this database",
            )
        if mig.checksum != row.checksum:
            raise MigrationError(
                f"migration {row.version:04d}_{row.name} was changed after it was applied "
                f"(checksum {row.checksum[:12]} in the database, {mig.checksum[:12]} in the file)",
                hint="restore the original file; applied migrations are never edited, add a new one",
            )
    done = {row.version for row in applied}
    return [m for m in known if m.version not in done]


async def pending_migrations(
    db: Executor, migrations: list[Migration] | None = None
) -> list[Migration]:
    known = migrations if migrations is not None else load_migrations()
    return _check_history(await applied_migrations(db), known)


async def apply_migrations(
    pool: asyncpg.Pool, migrations: list[Migration] | None = None
) -> list[Migration]:
    """Apply every pending migration in one transaction; return those applied."""
    known = migrations if migrations is not None else load_migrations()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_CREATE_TABLE)
        pending = _check_history(await applied_migrations(conn), known)
        for mig in pending:
            try:
                await conn.execute(mig.sql)
            except asyncpg.PostgresError as err:
                raise MigrationError(
                    f"migration {mig.version:04d}_{mig.name} failed: {err}"
                ) from err
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                mig.version,
                mig.name,
                mig.checksum,
            )
    return pending
