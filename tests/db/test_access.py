"""Data access modules against the real schema: users, repositories, tasks, events, credits."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from asynccoder_tui.db import credits, events, repositories, tasks, users
from asynccoder_tui.db.ai_models import get_model, list_models
from asynccoder_tui.domain.enums import EventKind, LedgerKind, RepoStatus, TaskStatus
from asynccoder_tui.domain.errors import InsufficientCreditsError, NotFoundError


async def _setup(pool: asyncpg.Pool):
    user = await users.ensure_current_user(pool, starting_credits=500)
    repo = await repositories.add_local(
        pool, user.id, path=f"/tmp/{uuid4()}", name="demo", default_branch="main"
    )
    return user, repo


async def _task(pool, user, repo, **kw):
    return await tasks.insert_task(
        pool,
        tasks.NewTask(
            owner_id=user.id, repository_id=repo.id, model="scripted:demo", title="t",
            prompt="p", **kw,
        ),
    )  # fmt: skip


async def test_current_user_is_the_seeded_local_user(pool: asyncpg.Pool) -> None:
    user = await users.ensure_current_user(pool, starting_credits=500)
    assert user.username == "local"
    again = await users.ensure_current_user(pool, starting_credits=500)
    assert again.id == user.id


async def test_new_role_gets_its_own_user_with_a_grant(pool: asyncpg.Pool) -> None:
    role = f"dev_{uuid4().hex[:8]}"
    await pool.execute(f'CREATE ROLE "{role}"')
    await pool.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
    await pool.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    try:
        async with pool.acquire() as conn:
            await conn.execute(f'SET ROLE "{role}"')
            try:
                user = await users.ensure_current_user(conn, starting_credits=250)
            finally:
                await conn.execute("RESET ROLE")
        assert user.username == role and user.credits == 250
        assert (await credits.ledger_totals(pool, user.id)) == {"grant": 250}
    finally:
        await pool.execute("DELETE FROM users WHERE db_role = $1", role)
        await pool.execute(f'DROP OWNED BY "{role}"')
        await pool.execute(f'DROP ROLE "{role}"')


async def test_repositories_archive_and_restore(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    assert [r.repository.id for r in await repositories.list_repositories(pool, user.id)] == [
        repo.id
    ]
    await repositories.set_status(pool, repo.id, RepoStatus.ARCHIVED)
    assert await repositories.list_repositories(pool, user.id) == []
    listed = await repositories.list_repositories(pool, user.id, include_archived=True)
    assert listed[0].repository.status is RepoStatus.ARCHIVED
    # Adding the same path again brings it back rather than failing.
    back = await repositories.add_local(
        pool, user.id, path=repo.local_path or "", name="demo", default_branch="main"
    )
    assert back.id == repo.id and back.status is RepoStatus.ACTIVE


async def test_github_upsert_refreshes(pool: asyncpg.Pool) -> None:
    user = await users.ensure_current_user(pool, starting_credits=0)
    kw = dict(github_id=1, clone_url="https://github.com/o/r.git", language="Python", private=False)
    first = await repositories.upsert_github(
        pool, user.id, full_name="o/r", default_branch="main", **kw
    )
    second = await repositories.upsert_github(
        pool, user.id, full_name="o/r", default_branch="trunk", **kw
    )
    assert first.id == second.id and second.default_branch == "trunk" and second.name == "r"
    assert (await repositories.find_repository(pool, user.id, "o/r")).id == first.id


async def test_task_list_keyset_pagination_and_filters(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    made = [await _task(pool, user, repo) for _ in range(25)]
    await pool.execute("UPDATE tasks SET title = 'fix the parser' WHERE id = $1", made[3].id)
    seen = []
    cursor = None
    while True:
        page = await tasks.list_tasks(pool, user.id, after=cursor, limit=10)
        if not page:
            break
        seen += [t.id for t in page]
        cursor = tasks.TaskPageCursor(page[-1].created_at, page[-1].id)
    assert len(seen) == 25 and len(set(seen)) == 25
    found = await tasks.list_tasks(pool, user.id, filters=tasks.TaskFilter(text="parser"))
    assert [t.id for t in found] == [made[3].id]
    queued = await tasks.list_tasks(
        pool, user.id, filters=tasks.TaskFilter(statuses=(TaskStatus.QUEUED,))
    )
    assert len(queued) == 25
    prefix = str(made[0].id)[:8]
    assert (await tasks.find_task(pool, user.id, prefix)).id == made[0].id
    with pytest.raises(NotFoundError):
        await tasks.find_task(pool, user.id, "zzzz")


async def test_events_concurrent_appends_are_contiguous(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _task(pool, user, repo)

    async def writer(n: int) -> None:
        for i in range(10):
            await events.append_events(
                pool, task.id, [(EventKind.TEXT_DELTA, {"text": f"{n}-{i}"})] * 2
            )

    await asyncio.gather(*(writer(n) for n in range(5)))
    rows = await events.list_events(pool, task.id)
    assert [e.seq for e in rows] == list(range(1, 101))
    assert await events.last_seq(pool, task.id) == 100
    later = await events.list_events(pool, task.id, after_seq=95)
    assert [e.seq for e in later] == [96, 97, 98, 99, 100]


async def test_hold_and_settle_balance_and_idempotency(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _task(pool, user, repo)
    start = await credits.balance(pool, user.id)
    await credits.hold(pool, user.id, task.id, 300, key="hold:1")
    await credits.hold(pool, user.id, task.id, 300, key="hold:1")  # retried: no second hold
    assert await credits.balance(pool, user.id) == start - 300
    result = await credits.settle(pool, task.id, 120, key="settle:1")
    again = await credits.settle(pool, task.id, 120, key="settle:1")
    assert result == again
    assert (result.debited, result.released, result.refunded) == (120, 180, 0)
    assert await credits.balance(pool, user.id) == start - 120
    totals = await credits.ledger_totals(pool, user.id)
    assert totals[LedgerKind.HOLD] == totals[LedgerKind.DEBIT] + totals[LedgerKind.RELEASE]


async def test_refund_returns_the_whole_hold(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _task(pool, user, repo)
    start = await credits.balance(pool, user.id)
    await credits.hold(pool, user.id, task.id, 50, key="h")
    settled = await credits.settle(pool, task.id, 30, key="s", refund=True)
    assert (settled.debited, settled.refunded) == (0, 50)
    assert await credits.balance(pool, user.id) == start


async def test_concurrent_holds_never_overdraw(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    balance = await credits.balance(pool, user.id)
    task = await _task(pool, user, repo)
    unit = balance // 10  # the balance affords exactly 10 holds
    assert unit > 0
    await pool.execute("UPDATE users SET credits = $2 WHERE id = $1", user.id, unit * 10)

    async def attempt(i: int) -> bool:
        try:
            await credits.hold(pool, user.id, task.id, unit, key=f"hold:{i}")
        except InsufficientCreditsError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(100)))
    assert sum(results) == 10
    assert await credits.balance(pool, user.id) == 0


async def test_models_seeded_and_unknown_model_is_clear(pool: asyncpg.Pool) -> None:
    names = {m.name for m in await list_models(pool)}
    assert {"claude-sonnet-4-5", "gpt-5", "scripted:demo"} <= names
    sonnet = await get_model(pool, "claude-sonnet-4-5")
    assert sonnet.cache_read_price < sonnet.input_price < sonnet.output_price
    with pytest.raises(NotFoundError, match="unknown model"):
        await get_model(pool, "gpt-17")
