"""The credits ledger: every balance change and its ledger row in one transaction.

Each change carries an idempotency key; repeating a change with the same key returns the row
already written and changes nothing, so a retried settle never charges twice. Balances change
only by conditional updates (`... WHERE credits >= amount`), with `CHECK (credits >= 0)` as the
backstop. A hold moves credits out of the balance into the task; settling splits the hold into
a debit (what was used, never more than was held) and a release (the rest), or refunds it all
when the failure was ours. So for every user: holds = debits + releases + refunds.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import LedgerKind
from asynccoder_tui.domain.errors import InsufficientCreditsError, NotFoundError
from asynccoder_tui.domain.models import CreditTransaction

_COLUMNS = (
    "id, user_id, task_id, kind, amount, balance_after, idempotency_key, description, created_at"
)


async def _existing(conn: Executor, key: str) -> CreditTransaction | None:
    return one(
        CreditTransaction,
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM credit_transactions WHERE idempotency_key = $1", key
        ),
    )


async def _record(
    conn: Executor,
    *,
    user_id: UUID,
    task_id: UUID | None,
    kind: LedgerKind,
    amount: int,
    balance_after: int,
    key: str,
    description: str | None,
) -> CreditTransaction:
    row = await conn.fetchrow(
        f"""INSERT INTO credit_transactions
                (user_id, task_id, kind, amount, balance_after, idempotency_key, description)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}""",
        user_id,
        task_id,
        kind.value,
        amount,
        balance_after,
        key,
        description,
    )
    tx = one(CreditTransaction, row)
    assert tx is not None
    return tx


async def balance(db: Executor, user_id: UUID) -> int:
    value = await db.fetchval("SELECT credits FROM users WHERE id = $1", user_id)
    if value is None:
        raise NotFoundError(f"user {user_id} not found")
    return int(value)


async def grant(
    db: Executor,
    user_id: UUID,
    amount: int,
    *,
    key: str,
    kind: LedgerKind = LedgerKind.GRANT,
    description: str | None = None,
) -> CreditTransaction:
    """Add credits (grant, bonus or purchased credit)."""
    if amount <= 0:
        raise ValueError("a grant must be positive")
    async with transaction(db) as conn:
        done = await _existing(conn, key)
        if done is not None:
            return done
        new_balance = await conn.fetchval(
            "UPDATE users SET credits = credits + $2 WHERE id = $1 RETURNING credits",
            user_id,
            amount,
        )
        if new_balance is None:
            raise NotFoundError(f"user {user_id} not found")
        return await _record(
            conn,
            user_id=user_id,
            task_id=None,
            kind=kind,
            amount=amount,
            balance_after=new_balance,
            key=key,
            description=description,
        )


async def hold(
    db: Executor, user_id: UUID, task_id: UUID, amount: int, *, key: str
) -> CreditTransaction:
    """Move `amount` credits from the balance onto the task, or refuse if the balance is short."""
    if amount < 0:
        raise ValueError("a hold cannot be negative")
    try:
        async with transaction(db) as conn:
            done = await _existing(conn, key)
            if done is not None:
                return done
            new_balance = await conn.fetchval(
                """UPDATE users SET credits = credits - $2
                   WHERE id = $1 AND credits >= $2 RETURNING credits""",
                user_id,
                amount,
            )
            if new_balance is None:
                have = await conn.fetchval("SELECT credits FROM users WHERE id = $1", user_id)
                if have is None:
                    raise NotFoundError(f"user {user_id} not found")
                raise InsufficientCreditsError(
                    f"this task needs {amount} credits held and the balance is {have}",
                    hint="add credits, pick a cheaper model or lower the task's cost limit",
                )
            updated = await conn.execute(
                "UPDATE tasks SET held_credits = held_credits + $2 WHERE id = $1", task_id, amount
            )
            if updated != "UPDATE 1":
                raise NotFoundError(f"task {task_id} not found")
            return await _record(
                conn,
                user_id=user_id,
                task_id=task_id,
                kind=LedgerKind.HOLD,
                amount=amount,
                balance_after=new_balance,
                key=key,
                description="held for task",
            )
    except asyncpg.UniqueViolationError:
        # A concurrent call with the same key won the race; its row is the answer.
        done = await _existing(db, key)
        assert done is not None
        return done


@dataclass(frozen=True)
class Settlement:
    debited: int
    released: int
    refunded: int
    balance_after: int


async def settle(
    db: Executor, task_id: UUID, used: int, *, key: str, refund: bool = False
) -> Settlement:
    """Close the task's hold: debit what was used (capped at the hold) and release the rest,
    or refund the whole hold when the failure was ours. Idempotent by `key`."""
    if used < 0:
        raise ValueError("used credits cannot be negative")
    async with transaction(db) as conn:
        # Lock the task first, then look for an earlier settlement: a concurrent settle with
        # the same key has committed by the time the lock is ours, and is seen here.
        task = await conn.fetchrow(
            "SELECT owner_id, held_credits FROM tasks WHERE id = $1 FOR UPDATE", task_id
        )
        if task is None:
            raise NotFoundError(f"task {task_id} not found")
        previous = await conn.fetch(
            f"SELECT {_COLUMNS} FROM credit_transactions WHERE idempotency_key = ANY($1::text[])",
            [f"{key}:debit", f"{key}:release", f"{key}:refund"],
        )
        if previous:
            txs = many(CreditTransaction, previous)
            by_kind = {t.kind: t.amount for t in txs}
            return Settlement(
                debited=by_kind.get(LedgerKind.DEBIT, 0),
                released=by_kind.get(LedgerKind.RELEASE, 0),
                refunded=by_kind.get(LedgerKind.REFUND, 0),
                balance_after=max(t.balance_after for t in txs),
            )
        held = int(task["held_credits"])
        user_id = task["owner_id"]
        debit = 0 if refund else min(used, held)
        back = held - debit
        new_balance = await conn.fetchval(
            "UPDATE users SET credits = credits + $2, credits_used = credits_used + $3 "
            "WHERE id = $1 RETURNING credits",
            user_id,
            back,
            debit,
        )
        await conn.execute(
            "UPDATE tasks SET held_credits = 0, used_credits = used_credits + $2 WHERE id = $1",
            task_id,
            debit,
        )
        after_debit = new_balance - back
        if debit or not back:
            await _record(
                conn,
                user_id=user_id,
                task_id=task_id,
                kind=LedgerKind.DEBIT,
                amount=debit,
                balance_after=after_debit,
                key=f"{key}:debit",
                description="used by task",
            )
        if back:
            await _record(
                conn,
                user_id=user_id,
                task_id=task_id,
                kind=LedgerKind.REFUND if refund else LedgerKind.RELEASE,
                amount=back,
                balance_after=new_balance,
                key=f"{key}:{'refund' if refund else 'release'}",
                description="refunded: the failure was ours" if refund else "unused hold released",
            )
        return Settlement(
            debited=debit,
            released=0 if refund else back,
            refunded=back if refund else 0,
            balance_after=new_balance,
        )


async def ledger(
    db: Executor, user_id: UUID, *, limit: int = 200, before_id: int | None = None
) -> list[CreditTransaction]:
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM credit_transactions
            WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2)
            ORDER BY id DESC LIMIT $3""",
        user_id,
        before_id,
        limit,
    )
    return many(CreditTransaction, rows)


async def ledger_totals(db: Executor, user_id: UUID) -> dict[str, int]:
    rows = await db.fetch(
        "SELECT kind, sum(amount)::bigint AS total FROM credit_transactions "
        "WHERE user_id = $1 GROUP BY kind",
        user_id,
    )
    return {r["kind"]: int(r["total"]) for r in rows}
