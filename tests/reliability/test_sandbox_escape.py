"""Escape attempts from the agent's command tool, in the sandbox as the engine runs it: writes
outside the workspace, reads of the home and of Async Coder's data, the network, secrets in
the environment, a fork bomb (bounded even for root), killing the worker, planting git hooks
(see `sandbox_escape.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asynccoder_tui.vcs.sandbox import sandbox_status
from tests.reliability.harness import quick_settings
from tests.reliability.sandbox_escape import sandbox_escape_round


async def test_sandbox_escape_attempts_are_refused(db_url: str, home: Path, tmp_path: Path) -> None:
    status = await sandbox_status("auto")
    if not status.available:
        pytest.skip(f"bubblewrap cannot run here: {status.reason}")
    report = await sandbox_escape_round(quick_settings(db_url), tmp_path)
    print(report.line())
    for name, output in report.attempts:
        print(f"  {name}: {output[-120:]!r}")
    assert not report.problems, report.problems
    assert len(report.attempts) >= 15
    assert report.fork_peak > 100, "the process sampling saw no fork attempt"
