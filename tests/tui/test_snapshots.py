"""Snapshots of each screen, made deterministic: fixed terminal size, a fixed clock, tasks and
events written with fixed times and texts, no spinner animation and no cursor blink.

Update with `pytest tests/tui/test_snapshots.py --snapshot-update` after a deliberate change
(a Textual upgrade, a layout change), and review the SVGs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from asynccoder_tui.tui.app import AsyncCoderApp

from .conftest import until

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIZE = (150, 42)


class _SnapshotsHere(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        path = Path(test_location.filepath)
        return str(path.parent / "snapshots" / path.stem)


class _Pinned:
    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot.use_extension(_SnapshotsHere)

    def use_extension(self, _extension: Any) -> Any:
        return self._snapshot


@pytest.fixture
def snap_compare(snapshot: Any, request: pytest.FixtureRequest) -> Any:
    compare = pytest_textual_snapshot.snap_compare.__wrapped__  # type: ignore[attr-defined]
    return compare(_Pinned(snapshot), request)


@pytest.fixture
def fixed_config(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    # The settings screen prints the config file's path: make it the same on every machine.
    monkeypatch.setenv("ASYNCCODER_CONFIG", "/nonexistent/asynccoder/config.toml")


TASKS = [
    # minutes ago, status, title, cost, files, added, removed, mode
    (3, "queued", "Add retries to the HTTP client", "0", 0, 0, 0, "code"),
    (25, "completed", "Document the public API", "0.0412", 3, 120, 4, "documentation"),
    (90, "failed", "Upgrade the ORM and fix the migrations", "0.3100", 0, 0, 0, "code"),
    (600, "cancelled", "Explain the caching layer", "0.0050", 0, 0, 0, "ask"),
    (3000, "completed", "Fix the flaky login test", "0.1234", 1, 6, 2, "debug"),
]


async def _seed(app: AsyncCoderApp, db_url: str) -> None:
    """A repository, five tasks at fixed times and a short transcript for the newest."""
    ctx = app.context
    assert ctx is not None
    conn = await asyncpg.connect(db_url)
    try:
        repo_id = await conn.fetchval(
            """INSERT INTO repositories (owner_id, kind, name, local_path, default_branch)
               VALUES ($1, 'local', 'widgets', '/srv/widgets', 'main') RETURNING id""",
            ctx.user.id,
        )
        for minutes, status, title, cost, files, added, removed, mode in TASKS:
            task_id = await conn.fetchval(
                """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status,
                       cost, files_changed, lines_added, lines_removed, mode, created_at, error)
                   VALUES ($1, $2, 'scripted:demo', $3, $3, $4, $5::numeric, $6, $7, $8, $9, $10,
                           $11)
                   RETURNING id""",
                ctx.user.id,
                repo_id,
                title,
                status,
                cost,
                files,
                added,
                removed,
                mode,
                NOW - timedelta(minutes=minutes),
                "the provider refused the request (401)" if status == "failed" else None,
            )
            if minutes == 3:
                events = [
                    ("message", {"role": "user", "text": title}),
                    ("status", {"status": "queued", "detail": "2000 credits held"}),
                ]
                for seq, (kind, payload) in enumerate(events, start=1):
                    await conn.execute(
                        """INSERT INTO task_events (task_id, seq, kind, payload, created_at)
                           VALUES ($1, $2, $3, $4::jsonb, $5)""",
                        task_id,
                        seq,
                        kind,
                        json.dumps(payload),
                        NOW,
                    )
    finally:
        await conn.close()


def _app(ui_settings: Any, **overrides: Any) -> AsyncCoderApp:
    values = {"worker_concurrency": 0, **overrides}
    return AsyncCoderApp(ui_settings(**values), clock=lambda: NOW, animate_spinners=False)


async def _connected(pilot: Pilot[Any]) -> None:
    app: AsyncCoderApp = pilot.app  # type: ignore[assignment]
    await until(pilot, lambda: app.context is not None, what="the database")
    main = app.main_screen
    await until(pilot, lambda: main.tasks.table.pages_loaded >= 1, what="tasks")
    await until(pilot, lambda: main.header.connected is True, what="live updates")
    await until(pilot, lambda: main.header.worker_text.startswith("no workers"), what="workers")
    # Everything painted behind a dialog is loaded too: the repositories and the balance.
    await until(pilot, lambda: main.repos.table.row_count >= 1, what="the repositories")
    await until(pilot, lambda: main.header.balance is not None, what="the balance")


async def _seeded(pilot: Pilot[Any], db_url: str) -> None:
    app: AsyncCoderApp = pilot.app  # type: ignore[assignment]
    await _connected(pilot)
    # The database starts empty, so the first-run welcome comes up: close it, then seed.
    await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
    await pilot.press("escape")
    await _seed(app, db_url)
    main = app.main_screen
    await pilot.pause(0.3)  # let the bus announce the inserts, then read everything once
    main.action_reload()
    table = main.tasks.table
    await until(pilot, lambda: table.row_count == len(TASKS), what="the seeded tasks")
    await until(pilot, lambda: len(main.repos.repositories) == 1, what="the repository")
    await until(pilot, lambda: main.chat.last_seq == 2, what="the transcript")
    await until(pilot, lambda: "Queued" in str(main.review.query_one("#diff-summary").render()))
    await _quiet(pilot)


async def _quiet(pilot: Pilot[Any]) -> None:
    for widget in pilot.app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    app: AsyncCoderApp = pilot.app  # type: ignore[assignment]
    app.clear_notifications()
    await pilot.pause(0.3)


def test_main_screen_wide(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_screen_narrow(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        await pilot.press("3")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=(90, 40), run_before=run_before)


def test_new_task_dialog(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        await pilot.press("n")
        screen = app.screen
        screen.query_one("#prompt", TextArea).text = "Add retries to the HTTP client"
        # The default model needs ANTHROPIC_API_KEY, which is not set: the form says so.
        await until(pilot, lambda: screen.query_one("#refusal").display, what="the refusal")
        await pilot.pause(0.6)
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        await pilot.press("question_mark")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_welcome_screen(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _connected(pilot)
        await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_usage_screen(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        conn = await asyncpg.connect(db_url)
        try:  # the starting grant's time is the test's; pin it
            await conn.execute("UPDATE credit_transactions SET created_at = $1", NOW)
        finally:
            await conn.close()
        await pilot.press("u")
        await until(pilot, lambda: not app.screen.query_one("#usage-report").loading, what="usage")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_settings_screen(
    snap_compare: Any, ui_settings: Any, db_url: str, fixed_config: None
) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        await pilot.press("comma")
        await until(
            pilot,
            lambda: "not set" in str(app.screen.query_one("#anthropic_api_key-masked").render()),
        )
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=(150, 60), run_before=run_before)
