"""Claiming from the queue: order, batches, running limits, scheduled tasks, lease tokens."""

from __future__ import annotations

import asyncio
from uuid import UUID

from asynccoder_tui.db import queue
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.enums import Priority, ProviderKind, TaskStatus


async def _owner_and_repo(pool, name: str) -> tuple[UUID, UUID]:
    user = await pool.fetchval(
        "INSERT INTO users (username, credits) VALUES ($1, 0) RETURNING id", name
    )
    repo = await pool.fetchval(
        """INSERT INTO repositories (owner_id, kind, name, local_path)
           VALUES ($1, 'local', $2, '/nowhere/' || $2) RETURNING id""",
        user,
        name,
    )
    return user, repo


def _new(owner: UUID, repo: UUID, title: str, **kw) -> NewTask:
    return NewTask(
        owner_id=owner, repository_id=repo, model="scripted:echo", title=title, prompt=title, **kw
    )


async def _queue(pool, *tasks: NewTask) -> dict[str, UUID]:
    """Insert in order (one statement each, so creation times follow the order)."""
    ids = {}
    for new in tasks:
        (ids[new.title],) = await queue.insert_tasks(pool, [new])
    return ids


async def test_claim_order_is_priority_then_run_after_then_age(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "ann")
    ids = await _queue(
        pool,
        _new(owner, repo, "low-old", priority=Priority.LOW),
        _new(owner, repo, "medium-old", priority=Priority.MEDIUM),
        _new(owner, repo, "medium-new", priority=Priority.MEDIUM),
        _new(owner, repo, "critical", priority=Priority.CRITICAL),
        _new(owner, repo, "high", priority=Priority.HIGH),
        _new(owner, repo, "medium-retry", priority=Priority.MEDIUM),
    )
    # A retried task is due since a while: run_after earlier than the others' -> first of
    # its priority even though it is the youngest.
    await pool.execute(
        "UPDATE tasks SET run_after = now() - interval '1 minute' WHERE id = $1",
        ids["medium-retry"],
    )
    order = []
    for _ in range(len(ids)):
        (task,) = await queue.claim(pool, "w", lease_seconds=30)
        order.append(task.title)
        assert task.status is TaskStatus.RUNNING and task.attempt == 1
    assert order == ["critical", "high", "medium-retry", "medium-old", "medium-new", "low-old"]
    assert await queue.claim(pool, "w", lease_seconds=30) == []


async def test_batch_claim_takes_the_first_n_in_order_with_their_own_leases(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "bob")
    await _queue(pool, *[_new(owner, repo, f"t{i}") for i in range(7)])
    await _queue(pool, _new(owner, repo, "urgent", priority=Priority.CRITICAL))
    first = await queue.claim(pool, "w1", lease_seconds=30, limit=5)
    assert [t.title for t in first] == ["urgent", "t0", "t1", "t2", "t3"]
    leases = {t.lease_owner for t in first}
    assert len(leases) == 5 and all(lease.startswith("w1/") for lease in leases)
    assert all(queue.lease_worker(lease) == "w1" for lease in leases)
    rest = await queue.claim(pool, "w2", lease_seconds=30, limit=5)
    assert [t.title for t in rest] == ["t4", "t5", "t6"]
    depth = await queue.queue_depth(pool)
    assert depth == {"running": 8}


async def test_scheduled_tasks_wait_for_run_after(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "cat")
    ids = await _queue(
        pool,
        _new(owner, repo, "later", priority=Priority.CRITICAL),
        _new(owner, repo, "now", priority=Priority.LOW),
    )
    await pool.execute(
        "UPDATE tasks SET run_after = now() + interval '1 hour' WHERE id = $1", ids["later"]
    )
    claimed = await queue.claim(pool, "w", lease_seconds=30, limit=10)
    assert [t.title for t in claimed] == ["now"]
    assert await queue.claim(pool, "w", lease_seconds=30, limit=10) == []
    await pool.execute("UPDATE tasks SET run_after = now() WHERE id = $1", ids["later"])
    assert [t.title for t in await queue.claim(pool, "w", lease_seconds=30)] == ["later"]


async def test_per_user_limit_holds_within_a_batch_and_across_claims(pool) -> None:
    ann, ann_repo = await _owner_and_repo(pool, "ann")
    bob, bob_repo = await _owner_and_repo(pool, "bob")
    # Ann's five tasks come first in claim order; Bob's two after.
    await _queue(pool, *[_new(ann, ann_repo, f"ann{i}", priority=Priority.HIGH) for i in range(5)])
    await _queue(pool, *[_new(bob, bob_repo, f"bob{i}") for i in range(2)])
    batch = await queue.claim(pool, "w", lease_seconds=30, limit=10, user_limit=2)
    assert [t.title for t in batch] == ["ann0", "ann1", "bob0", "bob1"]
    # Both at their limit: nothing more, until one of Ann's finishes.
    assert await queue.claim(pool, "w", lease_seconds=30, limit=10, user_limit=2) == []
    done = batch[0]
    assert done.lease_owner is not None
    assert await queue.finish_owned(pool, done.id, done.lease_owner)
    again = await queue.claim(pool, "w", lease_seconds=30, limit=10, user_limit=2)
    assert [t.title for t in again] == ["ann2"]


async def test_per_provider_limit_skips_to_other_providers(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "dan")
    await _queue(
        pool,
        *[_new(owner, repo, f"a{i}", provider=ProviderKind.ANTHROPIC) for i in range(4)],
        *[_new(owner, repo, f"s{i}", provider=ProviderKind.SCRIPTED) for i in range(2)],
    )
    batch = await queue.claim(pool, "w", lease_seconds=30, limit=10, provider_limit=3)
    assert [t.title for t in batch] == ["a0", "a1", "a2", "s0", "s1"]
    running = await pool.fetch(
        "SELECT provider, count(*) AS n FROM tasks WHERE status = 'running' GROUP BY provider"
    )
    assert {r["provider"]: r["n"] for r in running} == {"anthropic": 3, "scripted": 2}


async def test_limits_are_exact_under_concurrent_claims(pool) -> None:
    ann, ann_repo = await _owner_and_repo(pool, "ann")
    bob, bob_repo = await _owner_and_repo(pool, "bob")
    await queue.insert_tasks(
        pool,
        [
            _new(
                ann,
                ann_repo,
                f"ann{i}",
                provider=[ProviderKind.SCRIPTED, ProviderKind.ANTHROPIC][i % 2],
            )
            for i in range(40)
        ],
    )
    await queue.insert_tasks(
        pool,
        [_new(bob, bob_repo, f"bob{i}", provider=ProviderKind.OPENAI) for i in range(40)],
    )

    async def claimer(n: int) -> list:
        got = []
        for _ in range(5):
            got += await queue.claim(
                pool, f"w{n}", lease_seconds=30, limit=3, user_limit=4, provider_limit=3
            )
        return got

    results = await asyncio.gather(*(claimer(n) for n in range(8)))
    claimed = [t for batch in results for t in batch]
    assert len({t.id for t in claimed}) == len(claimed), "a task was claimed twice"
    running = await pool.fetch(
        "SELECT owner_id, provider, count(*) AS n FROM tasks WHERE status = 'running' "
        "GROUP BY owner_id, provider"
    )
    counts = {(r["owner_id"], r["provider"]): r["n"] for r in running}
    # Ann stops at her own limit (4 over two providers), Bob at his provider's (3): exactly.
    assert sum(n for (who, _), n in counts.items() if who == ann) == 4
    assert all(n <= 3 for n in counts.values())
    assert counts[(bob, "openai")] == 3


async def test_a_lease_token_is_per_claim(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "eve")
    await _queue(pool, _new(owner, repo, "t"))
    (first,) = await queue.claim(pool, "w", lease_seconds=30)
    assert first.lease_owner is not None
    async with pool.acquire() as conn, conn.transaction():
        await queue.requeue(conn, first.id, delay_seconds=0, error="test")
    (second,) = await queue.claim(pool, "w", lease_seconds=30)
    assert second.id == first.id and second.attempt == 2
    assert second.lease_owner != first.lease_owner
    # The first claim's token no longer renews, writes or finishes anything.
    assert not (await queue.renew_lease(pool, first.id, first.lease_owner, 30)).held
    assert not await queue.finish_owned(pool, first.id, first.lease_owner)
    assert (await queue.renew_lease(pool, second.id, second.lease_owner or "", 30)).held


async def test_claims_without_limits_run_side_by_side_and_never_share_a_task(pool) -> None:
    owner, repo = await _owner_and_repo(pool, "zed")
    await queue.insert_tasks(pool, [_new(owner, repo, f"z{i}") for i in range(120)])
    # Another session holds the claim lock: a claim with limits would wait for it, one
    # without takes no lock at all.
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock(727274001)")
        free = await asyncio.wait_for(queue.claim(pool, "w", lease_seconds=30, limit=2), 5)
        assert len(free) == 2
        limited = asyncio.ensure_future(
            queue.claim(pool, "w", lease_seconds=30, limit=2, user_limit=100)
        )
        await asyncio.sleep(0.3)
        assert not limited.done(), "a claim with a limit did not wait for the lock"
    assert len(await limited) == 2

    async def claimer(n: int, batch: int) -> list:
        got = []
        while claimed := await queue.claim(pool, f"w{n}", lease_seconds=30, limit=batch):
            got += claimed
        return got

    results = await asyncio.gather(*(claimer(n, 1 + n % 3) for n in range(6)))
    claimed = [t for batch in results for t in batch]
    assert len(claimed) == 116 and len({t.id for t in claimed}) == 116, "a task claimed twice"
    assert all(t.lease_owner and t.status is TaskStatus.RUNNING for t in claimed)


async def test_a_zero_limit_in_the_settings_is_no_limit(pool) -> None:
    from asynccoder_tui.config import Settings

    settings = Settings(max_concurrent_tasks_per_user=0, max_concurrent_per_provider=0)
    assert settings.max_concurrent_tasks_per_user == 0
    owner, repo = await _owner_and_repo(pool, "max")
    await queue.insert_tasks(pool, [_new(owner, repo, f"m{i}") for i in range(6)])
    claimed = await queue.claim(
        pool, "w", lease_seconds=30, limit=10,
        user_limit=settings.max_concurrent_tasks_per_user or None,
        provider_limit=settings.max_concurrent_per_provider or None,
    )  # fmt: skip
    assert len(claimed) == 6
