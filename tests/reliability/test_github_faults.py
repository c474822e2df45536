"""GitHub answering 401, 403, 404, 422, 500, late or malformed, on pull request creation and
sync: clear errors, retries only where they can help, a pull request row exactly when GitHub
made the pull request (see `github_faults.py`)."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.github_faults import github_fault_round


async def test_github_faults(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await github_fault_round(db_url, tmp_path)
    print(report.line())
    for case in report.cases:
        print(f"  {case.name}: {case.requests} requests: {case.outcome}")
    for problem in report.problems():
        print("  PROBLEM", problem)
    assert not report.problems(), report.problems()
