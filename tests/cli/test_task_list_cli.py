"""`asynccoder task list --sort`, as a real process: each sort in the database's order, and
`--limit` past one page of 1,000 read page by page with the sort's cursor."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from tests.cli.test_cli import run

STATUSES = ["queued", "running", "completed", "failed", "cancelled"]


async def _fill(db_url: str, count: int) -> None:
    from asynccoder_tui.db import repositories, users
    from asynccoder_tui.db.pool import create_pool

    pool = await create_pool(db_url, max_size=2)
    try:
        user = await users.ensure_current_user(pool, starting_credits=100)
        repo = await repositories.add_local(
            pool, user.id, path=f"/tmp/{uuid4()}", name="demo", default_branch="main"
        )
        await pool.execute(
            """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status, cost,
                                  lease_owner, lease_expires_at, created_at)
               SELECT $1, $2, 'scripted:demo', 'Task ' || n, 'p', ($4::text[])[1 + n % 5],
                      (n % 7) / 100.0,
                      CASE WHEN n % 5 = 1 THEN 'w' END,
                      CASE WHEN n % 5 = 1 THEN now() + interval '1 hour' END,
                      now() - make_interval(secs => n)
               FROM generate_series(1, $3) AS n""",
            user.id,
            repo.id,
            count,
            STATUSES,
        )
    finally:
        await pool.close()


def _list(db_url: str, *args: str) -> list[dict]:
    done = run("task", "list", "--json", *args, env={"DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_task_list_sort_option(db_url: str, home: Path) -> None:
    asyncio.run(_fill(db_url, 1200))
    newest = _list(db_url, "--limit", "5")
    assert [t["title"] for t in newest] == [f"Task {n}" for n in range(1, 6)]
    oldest = _list(db_url, "--sort", "oldest", "--limit", "3")
    assert [t["title"] for t in oldest] == ["Task 1200", "Task 1199", "Task 1198"]

    by_status = _list(db_url, "--sort", "status", "--limit", "1200")
    assert len(by_status) == 1200 and len({t["id"] for t in by_status}) == 1200
    order = ["running", "queued", "failed", "cancelled", "completed"]
    ranks = [order.index(t["status"]) for t in by_status]
    assert ranks == sorted(ranks)
    assert by_status[0]["title"] == "Task 1"  # the newest running task

    by_cost = _list(db_url, "--sort", "cost", "--limit", "1100")  # two pages: 1,000 + 100
    assert len(by_cost) == 1100 and len({t["id"] for t in by_cost}) == 1100
    costs = [Decimal(t["cost"]) for t in by_cost]
    assert costs == sorted(costs, reverse=True) and costs[0] == Decimal("0.06")

    updated = _list(db_url, "--sort", "updated", "--limit", "2")
    assert len(updated) == 2

    bad = run("task", "list", "--sort", "sideways", env={"DATABASE_URL": db_url})
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_task_list_help_names_the_sorts() -> None:
    from asynccoder_tui.cli.tasks import TASK_SORTS
    from asynccoder_tui.domain.queries import TaskSort

    assert TASK_SORTS == tuple(s.value for s in TaskSort)
    shown = run("task", "list", "--help")
    assert shown.returncode == 0 and "--sort" in shown.stdout
