"""Known fake secrets through a full run of `asynccoder` commands, with a model that tries to
leak the key it is called with: no secret in any command line, output, file, database row or
pushed git object; stored tokens are ciphertext (see `secrets_scan.py`)."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.secrets_scan import secrets_round


async def test_no_secret_leaks_anywhere(db_url: str, home: Path, tmp_path: Path) -> None:
    report = await secrets_round(db_url, tmp_path)
    print(report.line())
    assert not report.problems, report.problems
    assert not report.leaks, report.leaks
    assert report.log_lines and report.rows_scanned and report.objects_scanned
