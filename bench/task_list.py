"""Bench: the tasks pane with 1,000,000 tasks against the same with 1,000, in the same run.

Two databases on one PostgreSQL (the embedded one in a temporary folder, or `DATABASE_URL`'s
server): one with 1,000 tasks, one with 1,000,000, written with `generate_series` (the change
trigger is switched off while they are written, so no million notifications are queued). For
each, the real app runs headless at 150x45: the time from asking the tasks pane for its first
page to the page on screen, then ten page-downs, each waited for until any page it needed has
arrived and been drawn. Best of three passes after a warm-up. `--sort` (repeatable) measures
the list in other sorts too (each read from its own index), on the same two databases.

    python -m bench.task_list [--big 1000000] [--small 1000] [--sort newest --sort cost ...]

Target: ratio 1.2 or lower (the cost must not grow with the table).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZE = (150, 45)
PAGE_DOWNS = 10


async def _fill(url: str, tasks: int) -> None:
    """Migrate, create the local user and one repository, and write `tasks` finished tasks."""
    from asynccoder_tui.config import load_settings
    from asynccoder_tui.services.context import AppContext

    ctx = await AppContext.open(load_settings(database_url=url, worker_concurrency=0))
    try:
        user_id = ctx.user.id
    finally:
        await ctx.close()
    conn = await asyncpg.connect(url)
    try:
        repo_id = await conn.fetchval(
            """INSERT INTO repositories (owner_id, kind, name, local_path, default_branch)
               VALUES ($1, 'local', 'bench', '/srv/bench', 'main') RETURNING id""",
            user_id,
        )
        await conn.execute("ALTER TABLE tasks DISABLE TRIGGER tasks_notify")
        step = 100_000
        for start in range(1, tasks + 1, step):
            await conn.execute(
                """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status,
                                      mode, cost, files_changed, lines_added, lines_removed,
                                      created_at)
                   SELECT $1, $2, 'scripted:demo', 'Task number ' || n, 'Do thing ' || n,
                          (ARRAY['completed', 'failed', 'cancelled'])[1 + n % 3],
                          (ARRAY['code', 'ask', 'debug'])[1 + n % 3],
                          (n % 97) / 1000.0, n % 5, n % 50, n % 7,
                          timestamptz '2026-01-01' + make_interval(secs => n)
                   FROM generate_series($3::int, $4::int) AS n""",
                user_id,
                repo_id,
                start,
                min(tasks, start + step - 1),
            )
        await conn.execute("ALTER TABLE tasks ENABLE TRIGGER tasks_notify")
        await conn.execute("VACUUM ANALYZE tasks")
    finally:
        await conn.close()


async def _measure(url: str, sort: str) -> tuple[float, float]:
    """(first page seconds, ten page-downs seconds) in the real app, headless, in `sort`."""
    from asynccoder_tui.config import load_settings
    from asynccoder_tui.domain.queries import TaskSort
    from asynccoder_tui.tui.app import AsyncCoderApp

    app = AsyncCoderApp(load_settings(database_url=url, worker_concurrency=0))
    async with app.run_test(size=SIZE) as pilot:
        while app.context is None or not app.main_screen.built:
            await pilot.pause(0.02)
        main = app.main_screen
        table = main.tasks.table
        while table.pages_loaded < 1 or table.loading_page:
            await pilot.pause(0.02)
        await pilot.pause(0.3)  # let the start-up reads (repositories, welcome check) finish
        main.tasks.focus_main()

        async def settled() -> None:
            while table.loading_page:  # noqa: ASYNC110 - polling the widget, as a user would
                await asyncio.sleep(0.001)
            await pilot.pause()  # one more frame: the rows are drawn

        start = time.perf_counter()
        table.reload(table.with_filters(sort=TaskSort(sort)))
        await asyncio.sleep(0)
        await settled()
        first_page = time.perf_counter() - start
        assert table.row_count > 0

        start = time.perf_counter()
        for _ in range(PAGE_DOWNS):
            await pilot.press("pagedown")
            await settled()
        paging = time.perf_counter() - start
        assert table.cursor_row > 200, table.cursor_row
        await pilot.press("q")
    return first_page, paging


async def _run(admin_url: str, sizes: dict[str, int], sorts: list[str]) -> None:
    urls: dict[str, str] = {}
    admin = await asyncpg.connect(admin_url)
    try:
        for label in sizes:
            name = f"asynccoder_bench_{label}_{uuid.uuid4().hex[:6]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            urls[label] = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        await admin.close()
    try:
        for label, count in sizes.items():
            began = time.perf_counter()
            await _fill(urls[label], count)
            print(
                f"# wrote {count:,} tasks in {time.perf_counter() - began:.1f} s",
                file=sys.stderr,
            )
        results: dict[tuple[str, str], tuple[float, float]] = {}
        for sort in sorts:
            for label in sizes:
                await _measure(urls[label], sort)  # warm-up: caches, first-use imports
            for label in sizes:
                runs = [await _measure(urls[label], sort) for _ in range(3)]
                results[sort, label] = min(runs, key=lambda r: r[0] + r[1])
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            for url in urls.values():
                name = urlsplit(url).path.lstrip("/")
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    for sort in sorts:
        _report(sizes, results[sort, "small"], results[sort, "big"], sort)


def _report(
    sizes: dict[str, int], small: tuple[float, float], big: tuple[float, float], sort: str
) -> None:
    small_first, small_paging = small
    big_first, big_paging = big
    small_total, big_total = small_first + small_paging, big_first + big_paging
    big_n, small_n = sizes["big"], sizes["small"]
    tag = "" if sort == "newest" else f"_{sort}"  # the default sort keeps its old names
    print(f"task_list{tag}_first_page_{small_n}: {small_first * 1000:.1f} ms (reference)")
    print(
        f"task_list{tag}_first_page_{big_n}: {big_first * 1000:.1f} ms "
        f"(ratio {big_first / small_first:.2f} vs task_list{tag}_first_page_{small_n})"
    )
    print(f"task_list{tag}_page_down_x10_{small_n}: {small_paging * 1000:.1f} ms (reference)")
    print(
        f"task_list{tag}_page_down_x10_{big_n}: {big_paging * 1000:.1f} ms "
        f"(ratio {big_paging / small_paging:.2f} vs task_list{tag}_page_down_x10_{small_n})"
    )
    print(
        f"task_list{tag}_total_{big_n}: {big_total * 1000:.1f} ms "
        f"(ratio {big_total / small_total:.2f} vs task_list{tag}_total_{small_n})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument(
        "--sort",
        action="append",
        choices=("newest", "oldest", "status", "cost", "updated"),
        help="a sort to measure (repeatable; default newest)",
    )
    args = parser.parse_args()
    sizes = {"small": args.small, "big": args.big}
    sorts = list(dict.fromkeys(args.sort or ["newest"]))
    with tempfile.TemporaryDirectory(prefix="asynccoder-bench-") as tmp:
        os.environ["ASYNCCODER_HOME"] = str(Path(tmp) / "home")
        os.environ["ASYNCCODER_CONFIG"] = str(Path(tmp) / "config.toml")
        external = os.environ.pop("DATABASE_URL", None)
        if external:
            asyncio.run(_run(external, sizes, sorts))
            return
        from asynccoder_tui.db.server import start_embedded

        server = start_embedded(Path(tmp) / "pgdata")
        try:
            asyncio.run(_run(server.url("postgres"), sizes, sorts))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
