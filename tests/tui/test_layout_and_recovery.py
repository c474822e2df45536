"""Layout (side by side when wide, stacked when narrow; tab and number keys), losing the
database and getting it back, and the live-update decoding."""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.live import decode
from asynccoder_tui.tui.messages import (
    ConnectionChanged,
    CreditsChanged,
    Resync,
    TaskEventsAppended,
    TasksChanged,
)

from .conftest import ready, screen_text, until


async def test_wide_and_narrow_layouts_and_pane_keys(ui_settings) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        main = app.main_screen
        assert main.is_wide
        repos, tasks = main.repos.region, main.tasks.region
        chat, diff = main.chat.region, main.review.region
        assert repos.x == tasks.x < chat.x == diff.x  # two columns
        assert main.focused_pane() == "tasks"
        for key, pane in (("1", "repos"), ("3", "chat"), ("4", "diff"), ("2", "tasks")):
            await pilot.press(key)
            assert main.focused_pane() == pane
        await pilot.press("tab")
        assert main.focused_pane() == "chat"
        await pilot.press("tab", "tab")
        assert main.focused_pane() == "repos"
        await pilot.press("shift+tab")
        assert main.focused_pane() == "diff"
        await pilot.press("1", "enter")  # enter on a repository opens its tasks
        assert main.focused_pane() == "tasks"

        await pilot.resize_terminal(90, 40)
        await pilot.pause(0.2)
        assert not main.is_wide
        regions = [p.region for p in (main.repos, main.tasks, main.chat, main.review)]
        assert len({r.x for r in regions}) == 1  # one column
        assert [r.y for r in regions] == sorted(r.y for r in regions)
        await pilot.press("3")
        await pilot.pause(0.1)
        heights = {name: main.pane(name).region.height for name in ("repos", "tasks", "chat")}
        assert heights["chat"] > heights["tasks"] and heights["chat"] > heights["repos"]
        await pilot.resize_terminal(160, 45)
        await pilot.pause(0.2)
        assert main.is_wide


async def test_database_loss_shows_a_banner_and_recovers(
    ui_settings, db_url: str, pg_admin_url: str, make_repo
) -> None:
    from asynccoder_tui.services import repos, tasks

    name = urlsplit(db_url).path.lstrip("/")
    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(140, 40)) as pilot:
        await ready(app, pilot)
        main = app.main_screen
        await until(pilot, lambda: main.header.connected, what="the live connection")
        admin = await asyncpg.connect(pg_admin_url)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            await until(pilot, lambda: main.banner.shown, timeout=15, what="the banner")
            assert "Lost the connection to the database" in screen_text(app)
            assert main.header.connected is False
            main.tasks.focus_main()
            await pilot.press("r")  # an action while offline: a toast, no crash
            await pilot.pause(0.3)
            assert app.is_running
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await admin.close()
        await until(pilot, lambda: not main.banner.shown, timeout=20, what="the reconnect")
        assert main.header.connected
        ctx = app.context
        assert ctx is not None
        await until(pilot, lambda: main.repos.table.row_count >= 1, what="the resync")
        await repos.add_repo(ctx, str(root))
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="After", model="scripted:demo")
        )
        table = main.tasks.table
        await until(pilot, lambda: table.loaded_task(task.id) is not None, what="live again")


def test_bus_notifications_become_coalesced_messages() -> None:
    user, a, b = uuid4(), uuid4(), uuid4()
    messages = decode(
        [
            ("task_status", str(a)),
            ("task_events", f"{a}:3"),
            ("task_events", f"{a}:9"),
            ("task_queued", str(b)),
            ("task_status", str(a)),
            ("credits", str(uuid4())),
            ("credits", str(user)),
            ("task_events", "garbage"),
            ("__state__", "disconnected"),
            ("__state__", "connected"),
            ("__resync__", "reconnected"),
        ],
        user,
    )
    kinds = [type(m) for m in messages]
    assert kinds == [ConnectionChanged, Resync, TasksChanged, TaskEventsAppended, CreditsChanged]
    state, _, changed, events, _ = messages
    assert isinstance(state, ConnectionChanged) and state.connected
    assert isinstance(changed, TasksChanged)
    assert changed.task_ids == {a, b} and changed.queued == {b}
    assert isinstance(events, TaskEventsAppended) and (events.task_id, events.seq) == (a, 9)
    assert decode([("credits", str(uuid4()))], user) == []


async def test_narrow_80x24_fits_and_the_unfocused_tasks_pane_shows_a_task(
    ui_settings, make_repo
) -> None:
    """At 80x24 the four stacked panes fit between header and footer whichever has the focus,
    and the tasks pane, not focused, still shows its first task (its horizontal scrollbar
    took the one row it has)."""
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(app, pilot)
        main = app.main_screen
        assert app.context is not None
        await repos.add_repo(app.context, str(root))
        await tasks.submit(
            app.context,
            tasks.SubmitRequest(repository=str(root), prompt="Peekaboo", model="scripted:demo"),
        )
        await until(pilot, lambda: main.tasks.table.row_count == 1, what="the task")
        assert not main.is_wide
        for key in ("1", "2", "3", "4"):
            await pilot.press(key)
            await pilot.pause(0.1)
            bottoms = [main.pane(n).region.bottom for n in ("repos", "tasks", "chat", "diff")]
            assert max(bottoms) <= 23, (key, bottoms)  # the footer is row 23
        await pilot.press("3")
        await pilot.pause(0.2)
        assert "Peekaboo" in screen_text(app)
