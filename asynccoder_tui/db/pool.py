"""Connections: the asyncpg pool with jsonb and numeric codecs, and reaching the database.

`open_database(settings)` is the one way in: it starts or joins the embedded server when no
`DATABASE_URL` is set, connects a pool, and applies pending migrations. A server that cannot
be reached raises `DatabaseUnavailableError` naming the URL (password hidden) and the reason.

Every connection is a `ServerDroppedAware` connection: when the server ends a session (a
restart, `pg_terminate_backend`) while the connection sits idle or idle in a transaction,
asyncpg is left in a state where every later statement fails with `InternalClientError:
cannot switch to state ...; another operation is in progress` until the socket's end is seen.
Such a connection is closed at once and the failure raised as `ConnectionDoesNotExistError`,
the error of a dropped connection, so callers retry it like any other (the statement was
never sent).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from asynccoder_tui.config import Settings, redact_url
from asynccoder_tui.db.server import EmbeddedServer, start_embedded
from asynccoder_tui.domain.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)


class Executor(Protocol):
    """What a pool, a connection and a pooled connection all offer: run a query."""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str: ...

    async def fetch(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> list[asyncpg.Record]: ...

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None
    ) -> asyncpg.Record | None: ...

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any: ...


def _dropped(conn: asyncpg.Connection, err: asyncpg.InternalClientError) -> BaseException:
    if "another operation" not in str(err):
        return err
    conn.terminate()
    dropped = asyncpg.exceptions.ConnectionDoesNotExistError(
        f"the server closed the connection (asyncpg: {err})"
    )
    dropped.__cause__ = err
    return dropped


class ServerDroppedAware(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that reports a server-ended session as a dropped connection."""

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        try:
            return await super().execute(query, *args, timeout=timeout)
        except asyncpg.InternalClientError as err:
            raise _dropped(self, err) from None

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        try:
            return await super().executemany(command, args, timeout=timeout)
        except asyncpg.InternalClientError as err:
            raise _dropped(self, err) from None

    async def fetch(self, query: str, *args: Any, timeout: float | None = None, **kw: Any) -> Any:
        try:
            return await super().fetch(query, *args, timeout=timeout, **kw)
        except asyncpg.InternalClientError as err:
            raise _dropped(self, err) from None

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None, **kw: Any
    ) -> Any:
        try:
            return await super().fetchrow(query, *args, timeout=timeout, **kw)
        except asyncpg.InternalClientError as err:
            raise _dropped(self, err) from None

    async def fetchval(
        self, query: str, *args: Any, column: int = 0, timeout: float | None = None
    ) -> Any:
        try:
            return await super().fetchval(query, *args, column=column, timeout=timeout)
        except asyncpg.InternalClientError as err:
            raise _dropped(self, err) from None


async def _init_connection(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog", format="text"
        )


@dataclass
class Database:
    """An open pool plus how it was reached."""

    pool: asyncpg.Pool
    url: str
    embedded: EmbeddedServer | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    async def close(self) -> None:
        await self.pool.close()

    async def revive_embedded(self) -> None:
        """Start the embedded server again if it was stopped under this process."""
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.revive)

    async def connect_direct(self) -> asyncpg.Connection:
        """A connection outside the pool (for LISTEN, which must never return to a pool)."""
        return await connect_one(self.url)


async def connect_one(url: str, *, timeout: float = 10.0) -> asyncpg.Connection:
    try:
        conn = await asyncpg.connect(url, timeout=timeout, connection_class=ServerDroppedAware)
    except Exception as err:
        raise _unavailable(url, err) from err
    await _init_connection(conn)
    return conn


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            connection_class=ServerDroppedAware,
            timeout=10.0,
            command_timeout=60.0,
            server_settings={"application_name": "asynccoder"},
        )
    except Exception as err:
        raise _unavailable(url, err) from err
    assert pool is not None
    return pool


def _unavailable(url: str, err: BaseException) -> DatabaseUnavailableError:
    reason = str(err) or type(err).__name__
    if isinstance(err, asyncio.TimeoutError | TimeoutError):
        reason = "timed out"
    return DatabaseUnavailableError(
        f"cannot connect to PostgreSQL at {redact_url(url)}: {reason}",
        hint="check DATABASE_URL, or unset it to use the embedded database",
    )


async def resolve_url(settings: Settings) -> tuple[str, EmbeddedServer | None]:
    """The database URL to use, starting the embedded server when needed (off the loop)."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value(), None
    settings.paths.ensure()
    server = await asyncio.to_thread(
        start_embedded, settings.paths.pgdata, keep_running=settings.keep_db_running
    )
    return server.url(), server


async def open_database(
    settings: Settings, *, migrate: bool = True, max_size: int = 10
) -> Database:
    """Reach the database, connect a pool and (by default) apply pending migrations."""
    from asynccoder_tui.db.migrate import apply_migrations

    url, embedded = await resolve_url(settings)
    pool = await create_pool(url, max_size=max_size)
    db = Database(pool=pool, url=url, embedded=embedded)
    if migrate:
        try:
            await apply_migrations(pool)
        except BaseException:
            await pool.close()
            raise
    return db
