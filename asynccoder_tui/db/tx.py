"""`transaction(db)`: one transaction on a pool or on a connection the caller holds.

On a pool, a connection that turns out to be dead when the transaction begins is thrown away
and another one is tried. This happens after a database restart: an idle pooled connection
whose session the server has just ended can still be handed out before its socket's end is
seen (`pool.ServerDroppedAware` reports it as `ConnectionDoesNotExistError`). No statement of
the caller has run at that point, so taking another connection is safe.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg
from asyncpg.transaction import Transaction

from asynccoder_tui.db.pool import Executor

log = logging.getLogger(__name__)

BEGIN_ATTEMPTS = 3


@asynccontextmanager
async def transaction(db: Executor) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Pool):
        async with _pooled(db) as conn:
            yield conn
    else:
        conn = cast(asyncpg.Connection, db)
        async with conn.transaction():
            yield conn


@asynccontextmanager
async def _pooled(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    for attempt in range(1, BEGIN_ATTEMPTS + 1):
        async with pool.acquire() as conn:
            tx: Transaction = conn.transaction()
            try:
                await tx.start()
            except (asyncpg.InternalClientError, asyncpg.PostgresConnectionError) as err:
                if attempt == BEGIN_ATTEMPTS:
                    raise
                log.warning("discarding a dead pooled connection: %s", err)
                if _alive(conn):
                    conn.terminate()
                continue
            try:
                yield conn
            except BaseException:
                if _alive(conn):
                    await tx.rollback()
                raise
            else:
                await tx.commit()
            return


def _alive(conn: asyncpg.Connection) -> bool:
    """False when the connection is closed (or already gone back to the pool, closed)."""
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
