"""Users: the person behind the connection, their balance, limits and preferences."""

from __future__ import annotations

import getpass
from decimal import Decimal
from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import one
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import User

_COLUMNS = """id, username, email, display_name, github_login, role, tier, credits, credits_used,
    monthly_token_limit, monthly_cost_limit, preferences, created_at"""


async def get_user(db: Executor, user_id: UUID) -> User:
    user = one(User, await db.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id))
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


async def find_user_by_role(db: Executor, role: str) -> User | None:
    return one(User, await db.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE db_role = $1", role))


async def ensure_current_user(db: Executor, *, starting_credits: int) -> User:
    """The user mapped to the connected PostgreSQL role, created with a starting grant if new.

    The seed migration maps the migrating role to the `local` user; on a shared database each
    person connects with their own role and gets their own row here on first use.
    """
    role = await db.fetchval("SELECT current_user")
    user = await find_user_by_role(db, role)
    if user is not None:
        return user
    username = role if role != "postgres" else getpass.getuser()
    async with transaction(db) as conn:
        row = await conn.fetchrow(
            f"""INSERT INTO users (username, db_role, display_name, credits)
                VALUES ($1, $2, $1, $3)
                ON CONFLICT (db_role) DO NOTHING
                RETURNING {_COLUMNS}""",
            username,
            role,
            starting_credits,
        )
        if row is None:  # created concurrently by another process
            found = await find_user_by_role(conn, role)
            assert found is not None
            return found
        user = User.model_validate(dict(row))
        if starting_credits:
            await conn.execute(
                """INSERT INTO credit_transactions
                       (user_id, kind, amount, balance_after, idempotency_key, description)
                   VALUES ($1, 'grant', $2, $2, $3, 'Starting credit grant')""",
                user.id,
                starting_credits,
                f"grant:initial:{user.id}",
            )
        return user


async def update_preferences(db: Executor, user_id: UUID, changes: dict[str, Any]) -> User:
    row = await db.fetchrow(
        f"UPDATE users SET preferences = preferences || $2::jsonb WHERE id = $1 RETURNING {_COLUMNS}",
        user_id,
        changes,
    )
    user = one(User, row)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


async def set_limits(
    db: Executor,
    user_id: UUID,
    *,
    monthly_token_limit: int | None,
    monthly_cost_limit: Decimal | None,
) -> None:
    await db.execute(
        "UPDATE users SET monthly_token_limit = $2, monthly_cost_limit = $3 WHERE id = $1",
        user_id,
        monthly_token_limit,
        monthly_cost_limit,
    )


async def set_github_token(db: Executor, user_id: UUID, ciphertext: bytes | None) -> None:
    """Store the GitHub token already encrypted by the caller (never plaintext)."""
    await db.execute(
        "UPDATE users SET github_token_encrypted = $2 WHERE id = $1", user_id, ciphertext
    )


async def get_github_token(db: Executor, user_id: UUID) -> bytes | None:
    value = await db.fetchval("SELECT github_token_encrypted FROM users WHERE id = $1", user_id)
    return bytes(value) if value is not None else None
