"""Each sort of the task list pages with a keyset cursor: every task exactly once, in the
sort's order (ties broken by id), pages that stay right while tasks are added, an index behind
each first page, and a plan parent's progress read with its row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from asynccoder_tui.db import repositories, tasks, users
from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import (
    STATUS_RANK,
    TaskFilter,
    TaskPageCursor,
    TaskSort,
    sort_key,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
STATUSES = ["queued", "running", "completed", "failed", "cancelled"]


async def _setup(pool: asyncpg.Pool) -> tuple[UUID, UUID]:
    user = await users.ensure_current_user(pool, starting_credits=500)
    repo = await repositories.add_local(
        pool, user.id, path=f"/tmp/{uuid4()}", name="demo", default_branch="main"
    )
    return user.id, repo.id


async def _insert(pool: asyncpg.Pool, owner: UUID, repo: UUID, n: int, *, offset: int = 0) -> None:
    """`n` tasks with many ties: ten share each created_at, costs repeat, updated_at repeats."""
    await pool.execute(
        """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status, cost,
                              lease_owner, lease_expires_at, created_at)
           SELECT $1, $2, 'scripted:demo', 'task ' || n, 'p', ($5::text[])[1 + n % 5],
                  (n % 4) / 10.0,
                  CASE WHEN n % 5 = 1 THEN 'w' END, CASE WHEN n % 5 = 1 THEN $4::timestamptz END,
                  $4::timestamptz + make_interval(secs => n / 10)
           FROM generate_series($3::int + 1, $3::int + $6::int) AS n""",
        owner,
        repo,
        offset,
        T0,
        STATUSES,
        n,
    )
    # changed_at: few distinct values, so that most rows tie with others.
    await pool.execute(
        "UPDATE tasks SET changed_at = created_at + make_interval(days => (cost * 10)::int)"
    )


async def _all_pages(
    pool: asyncpg.Pool, owner: UUID, sort: TaskSort, limit: int, **filters: object
) -> list[Task]:
    f = TaskFilter(sort=sort, **filters)  # type: ignore[arg-type]
    seen: list[Task] = []
    cursor: TaskPageCursor | None = None
    for _ in range(1000):
        page = await tasks.list_tasks(pool, owner, filters=f, after=cursor, limit=limit)
        seen += page
        if len(page) < limit:
            return seen
        cursor = TaskPageCursor.after(page[-1], sort)
    raise AssertionError("paging did not end")


def _expected(rows: list[Task], sort: TaskSort) -> list[UUID]:
    ordered = sorted(rows, key=lambda t: sort_key(t, sort), reverse=sort.descending)
    return [t.id for t in ordered]


@pytest.mark.parametrize("sort", list(TaskSort))
async def test_each_sort_pages_every_task_once_in_order(pool: asyncpg.Pool, sort: TaskSort) -> None:
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 137)
    everything = await tasks.list_tasks(pool, owner, filters=TaskFilter(sort=sort), limit=1000)
    assert len(everything) == 137
    assert [t.id for t in everything] == _expected(everything, sort)
    for limit in (1, 7, 10, 50):
        paged = await _all_pages(pool, owner, sort, limit)
        assert [t.id for t in paged] == [t.id for t in everything], limit


async def test_sort_orders_mean_what_they_say(pool: asyncpg.Pool) -> None:
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 40)

    async def first(sort: TaskSort) -> list[Task]:
        return await tasks.list_tasks(pool, owner, filters=TaskFilter(sort=sort), limit=1000)

    newest, oldest = await first(TaskSort.NEWEST), await first(TaskSort.OLDEST)
    assert [t.id for t in newest] == [t.id for t in reversed(oldest)]
    assert newest[0].created_at is not None and oldest[0].created_at is not None
    assert newest[0].created_at > oldest[0].created_at
    ranks = [STATUS_RANK[t.status] for t in await first(TaskSort.STATUS)]
    assert ranks == sorted(ranks, reverse=True)
    by_status = await first(TaskSort.STATUS)
    assert by_status[0].status is TaskStatus.RUNNING
    assert by_status[-1].status is TaskStatus.COMPLETED
    running = [t for t in by_status if t.status is TaskStatus.RUNNING]
    assert [t.created_at for t in running] == sorted((t.created_at for t in running), reverse=True)
    costs = [t.cost for t in await first(TaskSort.COST)]
    assert costs == sorted(costs, reverse=True) and costs[0] == Decimal("0.3")
    updated = [t.changed_at for t in await first(TaskSort.UPDATED)]
    assert updated == sorted(updated, reverse=True)  # type: ignore[type-var]


@pytest.mark.parametrize("sort", list(TaskSort))
async def test_pages_stay_right_while_tasks_are_added(pool: asyncpg.Pool, sort: TaskSort) -> None:
    """Tasks written between pages never make a page repeat or skip a task that was there
    when paging began (they show up where the sort puts them, or not at all)."""
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 60)
    before = {t.id for t in await tasks.list_tasks(pool, owner, limit=1000)}
    f = TaskFilter(sort=sort)
    seen: list[Task] = []
    cursor = None
    added = 0
    while True:
        page = await tasks.list_tasks(pool, owner, filters=f, after=cursor, limit=9)
        seen += page
        if len(page) < 9:
            break
        cursor = TaskPageCursor.after(page[-1], sort)
        await _insert(pool, owner, repo, 3, offset=1000 + added)  # ties the rows around them
        added += 3
    ids = [t.id for t in seen]
    assert len(ids) == len(set(ids))
    assert before <= set(ids)
    assert ids == _expected(seen, sort)


async def test_a_cursor_of_another_sort_is_refused(pool: asyncpg.Pool) -> None:
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 3)
    page = await tasks.list_tasks(pool, owner, limit=1)
    with pytest.raises(ValueError, match="cursor"):
        await tasks.list_tasks(
            pool,
            owner,
            filters=TaskFilter(sort=TaskSort.COST),
            after=TaskPageCursor.after(page[0], TaskSort.NEWEST),
        )


async def test_filters_combine_with_sorts_and_ids(pool: asyncpg.Pool) -> None:
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 50)
    failed = await _all_pages(
        pool, owner, TaskSort.COST, 4, statuses=(TaskStatus.FAILED, TaskStatus.CANCELLED)
    )
    assert len(failed) == 20
    assert {t.status for t in failed} == {TaskStatus.FAILED, TaskStatus.CANCELLED}
    picked = [failed[0].id, failed[5].id]
    found = await tasks.list_tasks(pool, owner, filters=TaskFilter(ids=tuple(picked)))
    assert {t.id for t in found} == set(picked)


INDEXES = {
    TaskSort.NEWEST: "tasks_owner_created",
    TaskSort.OLDEST: "tasks_owner_created",
    TaskSort.STATUS: "tasks_owner_status_rank",
    TaskSort.COST: "tasks_owner_cost",
    TaskSort.UPDATED: "tasks_owner_changed",
}


def _limit_input(node: dict[str, Any]) -> dict[str, Any] | None:
    """The node under the page's LIMIT (the one over `tasks t`)."""
    if node.get("Node Type") == "Limit":
        child = node["Plans"][0]
        if child.get("Alias") == "t":
            return child
    for sub in node.get("Plans", []):
        found = _limit_input(sub)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("sort", list(TaskSort))
async def test_first_and_next_pages_read_the_sorts_index(
    pool: asyncpg.Pool, sort: TaskSort
) -> None:
    """The page is a range of the sort's index, the keyset an index condition: no sort of the
    owner's tasks, no scan past rows already shown (with sequential scans and sorts made as
    dear as the planner allows, any plan that needs them would still show them)."""
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 300)
    first = await tasks.list_tasks(pool, owner, filters=TaskFilter(sort=sort), limit=100)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;"
            " SET LOCAL enable_sort = off"
        )
        for after in (None, TaskPageCursor.after(first[-1], sort)):
            sql, args = tasks._list_query(owner, TaskFilter(sort=sort), after, 100)
            assert "OFFSET" not in sql.upper()
            raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
            plan = json.loads(raw) if isinstance(raw, str) else raw
            scan = _limit_input(plan[0]["Plan"])
            assert scan is not None, plan
            assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan
            assert scan["Index Name"] == INDEXES[sort]
            if after is not None:
                assert "ROW(" in scan["Index Cond"], scan  # the keyset bounds the scan


async def test_plan_parent_shows_children_done_and_total(pool: asyncpg.Pool) -> None:
    owner, repo = await _setup(pool)
    parent = await tasks.insert_task(
        pool,
        tasks.NewTask(
            owner_id=owner, repository_id=repo, model="scripted:demo", title="plan", prompt="p"
        ),
    )
    children = [
        await tasks.insert_task(
            pool,
            tasks.NewTask(
                owner_id=owner,
                repository_id=repo,
                model="scripted:demo",
                title=f"child {i}",
                prompt="p",
                parent_id=parent.id,
            ),
        )
        for i in range(5)
    ]
    for i, child in enumerate(children):
        await pool.execute("UPDATE tasks SET plan_position = $2 WHERE id = $1", child.id, i)
    await pool.execute(
        "UPDATE tasks SET status = 'completed' WHERE id = ANY($1::uuid[])",
        [c.id for c in children[:2]],
    )
    # A child outside the plan (a reviewer's task, say) does not count.
    await tasks.insert_task(
        pool,
        tasks.NewTask(
            owner_id=owner, repository_id=repo, model="scripted:demo", title="review",
            prompt="p", parent_id=parent.id,
        ),
    )  # fmt: skip
    listed = {t.id: t for t in await tasks.list_tasks(pool, owner, limit=100)}
    assert (listed[parent.id].children_done, listed[parent.id].children_total) == (2, 5)
    assert listed[children[0].id].children_total == 0
    again = await tasks.get_task(pool, parent.id)
    assert (again.children_done, again.children_total) == (2, 5)
    found = await tasks.find_task(pool, owner, str(parent.id)[:8])
    assert found.children_total == 5


async def test_updated_sort_follows_visible_changes_only(pool: asyncpg.Pool) -> None:
    """A status, cost, diff or title change moves a task to the top of "updated"; an event
    append or a lease renewal (which move updated_at) does not."""
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 10)
    by_age = await tasks.list_tasks(pool, owner, filters=TaskFilter(sort=TaskSort.OLDEST))
    quiet, loud = by_age[0], by_age[1]

    async def top() -> UUID:
        page = await tasks.list_tasks(
            pool, owner, filters=TaskFilter(sort=TaskSort.UPDATED), limit=1
        )
        return page[0].id

    await pool.execute("UPDATE tasks SET event_seq = event_seq + 5 WHERE id = $1", quiet.id)
    await pool.execute(
        "UPDATE tasks SET lease_expires_at = now() + interval '1 hour' WHERE id = $1", quiet.id
    )
    assert await top() != quiet.id
    again = await tasks.get_task(pool, quiet.id)
    assert again.changed_at == quiet.changed_at and again.updated_at != quiet.updated_at
    for change in (
        "title = 'renamed'",
        "cost = cost + 1",
        "lines_added = lines_added + 3",
        "status = CASE status WHEN 'cancelled' THEN 'failed' ELSE 'cancelled' END",
    ):
        target = loud if (await top()) != loud.id else quiet
        await pool.execute(f"UPDATE tasks SET {change} WHERE id = $1", target.id)
        assert await top() == target.id, change


async def test_status_sort_with_a_status_filter_starts_at_that_status(pool: asyncpg.Pool) -> None:
    """Completed tasks come last in the status sort: filtered to them, the page starts where
    they start in the index instead of reading past every other status first."""
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 120)
    for statuses in ((TaskStatus.COMPLETED,), (TaskStatus.FAILED, TaskStatus.CANCELLED)):
        paged = await _all_pages(pool, owner, TaskSort.STATUS, 7, statuses=statuses)
        assert len(paged) == 24 * len(statuses) and {t.status for t in paged} == set(statuses)
        assert [t.id for t in paged] == _expected(paged, TaskSort.STATUS)
    filters = TaskFilter(sort=TaskSort.STATUS, statuses=(TaskStatus.COMPLETED,))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;"
            " SET LOCAL enable_sort = off"
        )
        sql, args = tasks._list_query(owner, filters, None, 100)
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
        plan = json.loads(raw) if isinstance(raw, str) else raw
        scan = _limit_input(plan[0]["Plan"])
        assert scan is not None and scan["Index Name"] == "tasks_owner_status_rank", plan
        assert "CASE" in scan["Index Cond"], scan  # the rank range bounds the scan


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node.get("Alias") == "t" and "Scan" in node.get("Node Type", "") else []
    for sub in node.get("Plans", []):
        found += _scans(sub)
    return found


@pytest.mark.parametrize("sort", [TaskSort.NEWEST, TaskSort.COST, TaskSort.UPDATED])
async def test_a_rare_status_is_found_through_the_status_index(
    pool: asyncpg.Pool, sort: TaskSort
) -> None:
    """Thousands of finished tasks and a few active ones: the active filter reads the few
    from the status index instead of reading down the sort's index past every finished one."""
    owner, repo = await _setup(pool)
    await _insert(pool, owner, repo, 3000)
    await pool.execute(
        """UPDATE tasks SET status = 'completed', lease_owner = NULL, lease_expires_at = NULL
           WHERE status <> 'completed' AND title NOT IN ('task 6', 'task 11', 'task 10')"""
    )
    await pool.execute("ANALYZE tasks")
    filters = TaskFilter(sort=sort, statuses=(TaskStatus.QUEUED, TaskStatus.RUNNING))
    page = await tasks.list_tasks(pool, owner, filters=filters)
    assert sorted(t.title for t in page) == ["task 10", "task 11", "task 6"]
    sql, args = tasks._list_query(owner, filters, None, 100)
    raw = await pool.fetchval("EXPLAIN (FORMAT JSON) " + sql, *args)
    plan = json.loads(raw) if isinstance(raw, str) else raw
    scans = _scans(plan[0]["Plan"])
    assert [s.get("Index Name") for s in scans] == ["tasks_owner_status_rank"], plan
