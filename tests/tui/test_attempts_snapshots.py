"""A snapshot of the attempts screen: three attempts side by side, made deterministic like
`test_snapshots.py` (fixed size and clock, rows written with fixed texts, no animation)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot

from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.attempts import AttemptColumn, AttemptsScreen

from .conftest import until
from .test_snapshots import NOW, SIZE, _app, _Pinned, _quiet, _seeded

ATTEMPTS = [
    # model, status, cost, files, added, removed, test exit code, test output
    ("claude-sonnet-4-5", "completed", "0.0412", 2, 40, 3, 0, "12 passed in 0.4s"),
    ("gpt-5", "completed", "0.0388", 3, 61, 9, 1, "FAILED tests/test_http.py::test_retry"),
    ("scripted:demo", "failed", "0.0021", 0, 0, 0, None, None),
]


@pytest.fixture
def snap_compare(snapshot: Any, request: pytest.FixtureRequest) -> Any:
    compare = pytest_textual_snapshot.snap_compare.__wrapped__  # type: ignore[attr-defined]
    return compare(_Pinned(snapshot), request)


async def _seed_attempts(app: AsyncCoderApp, db_url: str) -> Any:
    ctx = app.context
    assert ctx is not None
    conn = await asyncpg.connect(db_url)
    try:
        repo_id = await conn.fetchval("SELECT id FROM repositories WHERE name = 'widgets'")
        ids = []
        for n, (model, status, cost, files, added, removed, code, output) in enumerate(ATTEMPTS, 1):
            title = f"Add retries to the HTTP client (attempt {n}/3)"
            task_id = await conn.fetchval(
                """INSERT INTO tasks (owner_id, repository_id, model, title, prompt, status,
                       cost, files_changed, lines_added, lines_removed, created_at,
                       test_exit_code, test_output)
                   VALUES ($1, $2, $3, $4, $4, $5, $6::numeric, $7, $8, $9, $10, $11, $12)
                   RETURNING id""",
                ctx.user.id, repo_id, model, title, status, cost, files, added, removed,
                NOW - timedelta(minutes=10 - n), code, output,
            )  # fmt: skip
            ids.append(task_id)
        await conn.execute("UPDATE tasks SET attempt_group = $1 WHERE id = ANY($2)", ids[0], ids)
        await conn.execute(
            """INSERT INTO reviews (task_id, status, summary, quality_score, security_score,
                   created_at)
               VALUES ($1, 'approved', 'Clear and safe.', 0.9, 1.0, $3),
                      ($2, 'changes_requested', 'Retries never stop.', 0.45, 0.8, $3)""",
            ids[0], ids[1], NOW,
        )  # fmt: skip
        return ids[0]
    finally:
        await conn.close()


def test_attempts_screen(snap_compare: Any, ui_settings: Any, db_url: str) -> None:
    app = _app(ui_settings)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _seeded(pilot, db_url)
        first = await _seed_attempts(app, db_url)
        app.main_screen.open_attempts(first)
        await until(pilot, lambda: isinstance(app.screen, AttemptsScreen), what="attempts")
        screen = app.screen
        await until(pilot, lambda: len(screen.query(AttemptColumn)) == 3, what="the columns")
        await pilot.press("l")
        await _quiet(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
