"""A worker process killed with `kill -9` in each phase of a running task: the task comes back
within lease + 10 s and finishes, never runs two attempts at once, loses no event, leaves no
orphaned worktree and no unbalanced ledger (see `worker_kill.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.worker_kill import PHASES, worker_kill_round


async def test_worker_killed_in_each_phase(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await worker_kill_round(db_url, tmp_path, rounds=len(PHASES), seed=5)
    print(report.line())
    assert not report.problems(), report.problems()
    assert all(r.landed for r in report.rounds), report.line()


@pytest.mark.slow
async def test_worker_killed_twenty_times(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await worker_kill_round(db_url, tmp_path, rounds=20, seed=21)
    print(report.line())
    assert not report.problems(), report.problems()
