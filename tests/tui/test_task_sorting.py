"""`o` cycles the task list's sort: each sort is read from the database a page at a time, the
pane's border names it, the cursor stays on its task when it can, and live updates move rows
to where the sort puts them. A plan's parent shows its children's progress."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.queries import TaskSort, sort_key
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.widgets.tasks_table import PAGE_SIZE

from .conftest import ready, until

TOTAL = 260
STATUSES = ["queued", "running", "completed", "failed", "cancelled"]


async def _insert_tasks(db_url: str, owner, repository) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status, cost,
                                  lease_owner, lease_expires_at, created_at)
               SELECT $1, $2, 'scripted:demo', 'Task ' || n, 'p', ($4::text[])[1 + n % 5],
                      (n % 13) / 100.0,
                      CASE WHEN n % 5 = 1 THEN 'elsewhere' END,
                      CASE WHEN n % 5 = 1 THEN now() + interval '1 hour' END,
                      now() - make_interval(mins => n)
               FROM generate_series(1, $3) AS n""",
            owner,
            repository,
            TOTAL,
            STATUSES,
        )
    finally:
        await conn.close()


def _in_order(table) -> bool:
    keys = [sort_key(t, table.sort_mode) for t in table.tasks]
    return keys == sorted(keys, reverse=table.sort_mode.descending)


async def test_o_cycles_server_side_sorts_and_keeps_the_cursor(
    ui_settings, db_url: str, make_repo
) -> None:
    from asynccoder_tui.services import repos

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 40)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        repo = await repos.add_repo(ctx, str(root))
        await _insert_tasks(db_url, ctx.user.id, repo.id)
        main = app.main_screen
        pane = main.tasks
        table = pane.table
        table.reload()
        await until(pilot, lambda: table.row_count == PAGE_SIZE, what="the first page")
        assert pane.border_title == "2 Tasks · sort: newest"
        pane.focus_main()
        table.move_cursor(row=3)
        await pilot.pause(0.1)
        watched = table.current_task
        assert watched is not None and watched.title == "Task 4"

        await pilot.press("o")  # oldest: Task 4 is not on the first page, the cursor goes up
        await until(
            pilot,
            lambda: table.row_count and table.tasks[0].title == f"Task {TOTAL}",
            what="the oldest first",
        )
        assert pane.border_title == "2 Tasks · sort: oldest"
        assert table.sort_mode is TaskSort.OLDEST and table.cursor_row == 0

        await pilot.press("o")  # status: running first
        await until(pilot, lambda: table.sort_mode is TaskSort.STATUS, what="status sort")
        await until(pilot, lambda: not table.loading_page and table.row_count > 0, what="rows")
        assert table.tasks[0].status is TaskStatus.RUNNING
        assert _in_order(table)
        assert pane.border_title == "2 Tasks · sort: status"

        # Page through the whole status list: every task once, in the database's order.
        await pilot.press("G")
        for _ in range(40):
            await pilot.press("G")
            await pilot.pause(0.05)
            if not table.has_more and table.cursor_row == table.row_count - 1:
                break
        assert table.row_count == TOTAL and not table.has_more
        assert len({t.id for t in table.tasks}) == TOTAL
        assert _in_order(table)
        assert table.tasks[-1].status is TaskStatus.COMPLETED

        await pilot.press("o")  # cost
        # The cursor stays on its task when the new sort shows it, and a cursor near the foot of
        # the first page reads the next at once: wait for the first page, not for exactly one.
        await until(
            pilot,
            lambda: table.sort_mode is TaskSort.COST and table.pages_loaded >= 1,
            what="cost sort",
        )
        await until(pilot, lambda: not table.loading_page, what="the page")
        assert table.tasks[0].cost == Decimal("0.12") and _in_order(table)

        # A live cost change brings a task from beyond the loaded rows to the top, and the
        # cursor stays on its task.
        table.move_cursor(row=5)
        await pilot.pause(0.1)
        kept = table.current_task
        assert kept is not None
        first = next(t for t in await _all(ctx) if t.title == "Task 1")
        assert table.loaded_task(first.id) is None  # cost 0.01: not on the first page
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("UPDATE tasks SET cost = 5 WHERE id = $1", first.id)
        finally:
            await conn.close()
        await until(pilot, lambda: table.tasks[0].id == first.id, what="the costly task on top")
        assert table.current_task is not None and table.current_task.id == kept.id
        assert table.cursor_row == 6 and _in_order(table)

        await pilot.press("o")  # updated
        await until(pilot, lambda: table.sort_mode is TaskSort.UPDATED, what="updated sort")
        await until(pilot, lambda: not table.loading_page, what="the page")
        assert table.tasks[0].id == first.id  # the one just changed
        assert pane.border_title == "2 Tasks · sort: updated"

        # The cursor stays on its task when the next sort has it on its first page.
        row, task = next(
            (i, t)
            for i, t in enumerate(table.tasks)
            if i > 0 and int(t.title.split()[1]) in range(3, PAGE_SIZE)
        )
        table.move_cursor(row=row)
        await pilot.pause(0.1)
        await pilot.press("o")  # back to newest
        await until(pilot, lambda: table.sort_mode is TaskSort.NEWEST, what="newest again")
        await until(pilot, lambda: not table.loading_page, what="the page")
        assert table.tasks[0].title == "Task 1"
        assert table.current_task is not None and table.current_task.id == task.id
        assert table.cursor_row == int(task.title.split()[1]) - 1


async def _all(ctx):
    from asynccoder_tui.services import tasks

    return await tasks.list_tasks(ctx, limit=1000)


async def test_plan_parent_shows_children_progress_live(
    ui_settings, db_url: str, make_repo
) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 40)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        parent = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="Plan it", model="scripted:demo")
        )
        conn = await asyncpg.connect(db_url)
        try:
            children = [
                await conn.fetchval(
                    """INSERT INTO tasks (owner_id, repository_id, parent_id, plan_position,
                                          model, title, prompt)
                       VALUES ($1, $2, $3, $4::int, 'scripted:demo', 'Child ' || $4::int, 'p')
                       RETURNING id""",
                    ctx.user.id,
                    parent.repository_id,
                    parent.id,
                    i,
                )
                for i in range(3)
            ]
        finally:
            await conn.close()
        table = app.main_screen.tasks.table
        table.reload()
        await until(pilot, lambda: table.row_count == 4, what="the rows")

        def title_of(task_id) -> str:
            return str(table.get_cell(str(task_id), "title"))

        assert title_of(parent.id).endswith("0/3")
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute(
                "UPDATE tasks SET status = 'completed' WHERE id = ANY($1::uuid[])", children[:2]
            )
        finally:
            await conn.close()
        await until(pilot, lambda: title_of(parent.id).endswith("2/3"), what="live progress")
        assert not title_of(children[0]).endswith("/3")
