"""The tasks table pages through many tasks as the cursor moves, and live updates neither lose
the cursor nor the page position."""

from __future__ import annotations

import asyncpg

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.widgets.tasks_table import PAGE_SIZE

from .conftest import ready, until

TOTAL = 350


async def _insert_tasks(db_url: str, owner, repository, count: int) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status,
                                  created_at)
               SELECT $1, $2, 'scripted:demo', 'Old task ' || n, 'p', 'completed',
                      now() - make_interval(mins => n)
               FROM generate_series(1, $3) AS n""",
            owner,
            repository,
            count,
        )
    finally:
        await conn.close()


async def test_pages_load_as_the_cursor_moves_and_live_rows_keep_it(
    ui_settings, db_url: str, make_repo
) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(150, 40)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        repo = await repos.add_repo(ctx, str(root))
        await _insert_tasks(db_url, ctx.user.id, repo.id, TOTAL)
        main = app.main_screen
        table = main.tasks.table
        table.reload()
        await until(pilot, lambda: table.row_count == PAGE_SIZE, what="the first page")
        assert table.has_more and table.pages_loaded == 1
        titles = [t.title for t in table.tasks[:3]]
        assert titles == ["Old task 1", "Old task 2", "Old task 3"]  # newest first

        main.tasks.focus_main()
        for _ in range(6):
            await pilot.press("pagedown")
        await until(pilot, lambda: table.row_count >= 2 * PAGE_SIZE, what="the second page")
        assert table.row_count < TOTAL  # only what the cursor is near
        await pilot.press("G")
        for _ in range(40):
            await pilot.press("G")
            await pilot.pause(0.05)
            if not table.has_more and table.cursor_row == table.row_count - 1:
                break
        assert table.row_count == TOTAL and not table.has_more
        titles = [t.title for t in table.tasks]
        assert len(set(titles)) == TOTAL  # no row twice across page boundaries

        # Put the cursor on a task in the middle, then change tasks around it.
        table.move_cursor(row=120)
        await pilot.pause(0.1)
        watched = table.current_task
        assert watched is not None
        new = await tasks.submit(
            ctx,
            tasks.SubmitRequest(repository=str(root), prompt="Brand new", model="scripted:demo"),
        )
        await until(pilot, lambda: table.loaded_task(new.id) is not None, what="the new row")
        assert table.tasks[0].id == new.id  # in order: newest first
        assert table.current_task is not None and table.current_task.id == watched.id
        assert table.cursor_row == 121

        cancelled = await tasks.cancel(ctx, new.id)
        await until(
            pilot,
            lambda: (
                (t := table.loaded_task(new.id)) is not None and t.status is TaskStatus.CANCELLED
            ),
            what="the live status",
        )
        assert cancelled.status is TaskStatus.CANCELLED
        assert table.current_task is not None and table.current_task.id == watched.id

        # Status filter and search go to the database, not through the loaded rows.
        await pilot.press("F")  # active
        await until(pilot, lambda: table.row_count == 0, what="no active tasks")
        await pilot.press("F", "F")  # completed, then failed or cancelled
        await until(pilot, lambda: table.row_count == 1, what="the cancelled task")
        await pilot.press("F")  # all
        await pilot.press("slash")
        await pilot.press(*"task", "space", *"349", "enter")
        await until(pilot, lambda: table.row_count == 1, what="the search")
        assert table.tasks[0].title == "Old task 349"
