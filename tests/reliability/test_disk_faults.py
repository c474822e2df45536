"""Disk full and permission denied in the workspaces, the cache, the repository, the logs and
the data directory: each fails in words naming the cause and harms nothing else (see
`disk_faults.py`; a tiny tmpfs, a read-only bind mount and `chattr +i`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.disk_faults import COMMIT_CASE, KNOWN, disk_fault_round


async def test_disk_full_and_permission_denied(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await disk_fault_round(db_url, tmp_path)
    print(report.line())
    for case in report.cases:
        print(f"  {case.name} [{case.mechanism}]: {case.outcome}")
    if report.skipped:
        pytest.skip(report.skipped)
    problems = report.problems(leave_out=KNOWN)
    assert not problems, problems


async def test_a_commit_that_cannot_be_written_fails_the_task_in_words(
    db_url: str, home: Path, tmp_path: Path
) -> None:
    report = await disk_fault_round(db_url, tmp_path, only=(COMMIT_CASE,))
    if report.skipped:
        pytest.skip(report.skipped)
    assert not report.problems(), report.problems()
