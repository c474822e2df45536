"""`transaction(db)`: one transaction on a pool or on a connection the caller holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg

from asynccoder_tui.db.pool import Executor


@asynccontextmanager
async def transaction(db: Executor) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        conn = cast(asyncpg.Connection, db)
        async with conn.transaction():
            yield conn
