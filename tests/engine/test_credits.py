"""The credits ledger under concurrency, and idempotent holds and settlements."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from asynccoder_tui.db import credits as ledger
from asynccoder_tui.db import queue
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.errors import InsufficientCreditsError
from asynccoder_tui.engine.credits import credits_for, hold_for_run, settle_run
from tests.engine.conftest import assert_ledger_reconciles, balance_of, ledger_mark


async def _user_with_tasks(pool, credits: int, tasks: int):
    user = await pool.fetchval("INSERT INTO users (username) VALUES ('payer') RETURNING id")
    repo = await pool.fetchval(
        """INSERT INTO repositories (owner_id, kind, name, local_path)
           VALUES ($1, 'local', 'r', '/nowhere/r') RETURNING id""",
        user,
    )
    await ledger.grant(pool, user, credits, key="grant:test")
    ids = await queue.insert_tasks(
        pool,
        [
            NewTask(owner_id=user, repository_id=repo, model="scripted:echo", title=f"t{i}",
                    prompt="p")
            for i in range(tasks)
        ],
    )  # fmt: skip
    return user, ids


async def test_a_thousand_concurrent_holds_against_a_balance_for_a_hundred(pool) -> None:
    user, task_ids = await _user_with_tasks(pool, 100, 50)
    mark = await ledger_mark(pool, user)

    async def one(n: int) -> bool:
        try:
            await ledger.hold(pool, user, task_ids[n % len(task_ids)], 1, key=f"hold:race:{n}")
        except InsufficientCreditsError:
            return False
        return True

    outcomes = await asyncio.gather(*(one(n) for n in range(1000)))
    assert sum(outcomes) == 100
    assert await balance_of(pool, user) == 0
    rows = await pool.fetch(
        "SELECT amount, balance_after FROM credit_transactions WHERE user_id = $1 AND kind = 'hold'",
        user,
    )
    assert len(rows) == 100 and sum(r["amount"] for r in rows) == 100
    # Every hold saw a distinct balance on its way down: 99, 98, ... 0.
    assert sorted(r["balance_after"] for r in rows) == list(range(100))
    held = await pool.fetchval("SELECT sum(held_credits) FROM tasks WHERE owner_id = $1", user)
    assert held == 100
    # Settle every task (one credit used by each that held any): the books balance.
    holding = await pool.fetchval(
        "SELECT count(*) FROM tasks WHERE owner_id = $1 AND held_credits > 0", user
    )
    for task_id in task_ids:
        await settle_run(pool, task_id, 1, cost=Decimal("0.001"), rate=1000)
    await assert_ledger_reconciles(pool, user, mark)
    assert await balance_of(pool, user) == 100 - holding


async def test_holds_and_settlements_are_idempotent(pool) -> None:
    user, (task_id,) = await _user_with_tasks(pool, 1000, 1)
    mark = await ledger_mark(pool, user)
    await asyncio.gather(*(hold_for_run(pool, user, task_id, 1, 300) for _ in range(10)))
    assert await balance_of(pool, user) == 700
    results = await asyncio.gather(
        *(settle_run(pool, task_id, 1, Decimal("0.0421"), 1000) for _ in range(5)),
        return_exceptions=True,
    )
    settled = [r for r in results if not isinstance(r, BaseException)]
    assert len(settled) == 5, results  # the repeats answer with the first settlement
    assert {(s.debited, s.released) for s in settled} == {
        (credits_for(Decimal("0.0421"), 1000), 257)
    }
    assert await balance_of(pool, user) == 1000 - 43
    totals = await assert_ledger_reconciles(pool, user, mark)
    assert totals == {"hold": 300, "debit": 43, "release": 257}


async def test_a_hold_larger_than_the_balance_is_refused_in_words(pool) -> None:
    user, (task_id,) = await _user_with_tasks(pool, 5, 1)
    with pytest.raises(InsufficientCreditsError, match="needs 6 credits held and the balance is 5"):
        await ledger.hold(pool, user, task_id, 6, key="hold:big")
    assert await balance_of(pool, user) == 5
