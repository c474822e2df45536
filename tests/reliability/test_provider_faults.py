"""Provider faults in a fifth of the model's turns, through the real SDKs: every task ends
clearly, no tool call runs twice, retries wait within bounds, the bill matches the server's
reported usage (see `provider_faults.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.provider_faults import FAULTS_SEEN, provider_fault_round


async def test_provider_faults_short_round(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await provider_fault_round(db_url, tmp_path, tasks=12, seed=3)
    print(report.line())
    assert not report.problems(), report.problems()
    assert report.completed == 11 and report.failed_clearly == 1, report.line()
    assert report.turns_faulted >= 3, report.line()


@pytest.mark.slow
async def test_provider_faults_full_round(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await provider_fault_round(db_url, tmp_path, tasks=50, seed=11)
    print(report.line())
    assert not report.problems(), report.problems()
    assert set(report.faults) == set(FAULTS_SEEN), report.line()
