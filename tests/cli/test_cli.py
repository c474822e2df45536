"""The `asynccoder` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from asynccoder_tui import __version__


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "asynccoder_tui", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def test_help_everywhere() -> None:
    for argv in (["--help"], ["db", "--help"], ["db", "status", "--help"], ["doctor", "--help"]):
        result = run(*argv)
        assert result.returncode == 0, result.stderr
        assert "usage: asynccoder" in result.stdout


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"asynccoder {__version__}"


def test_db_status_lists_migrations_and_counts(db_url: str) -> None:
    result = run("db", "status", env={"DATABASE_URL": db_url})
    assert result.returncode == 0, result.stderr
    assert "0001_schema" in result.stdout and "applied" in result.stdout
    assert "ai_models" in result.stdout
    data = json.loads(run("db", "status", "--json", env={"DATABASE_URL": db_url}).stdout)
    assert data["pending"] == [] and data["row_counts"]["agents"] >= 11
    assert data["embedded"] is False


def test_doctor_json_names_every_check(db_url: str) -> None:
    result = run("doctor", "--json", env={"DATABASE_URL": db_url, "ANTHROPIC_API_KEY": "sk-ant-x"})
    data = json.loads(result.stdout)
    by_name = {c["name"]: c for c in data["checks"]}
    assert {
        "config", "database", "migrations", "listen_notify", "git", "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY", "GITHUB_TOKEN", "sandbox", "tiktoken",
    } <= set(by_name)  # fmt: skip
    assert by_name["database"]["status"] == "ok"
    assert by_name["ANTHROPIC_API_KEY"]["detail"] == "set"
    assert by_name["OPENAI_API_KEY"]["detail"] == "not set"
    assert "sk-ant-x" not in result.stdout
    assert data["healthy"] is True and result.returncode == 0


def test_doctor_reports_healthy_embedded_database(home: Path) -> None:
    result = run("doctor", "--json", env={"ASYNCCODER_HOME": str(home / "h")}, timeout=120)
    data = json.loads(result.stdout)
    database = next(c for c in data["checks"] if c["name"] == "database")
    assert database["status"] == "ok" and "embedded" in database["detail"]
    assert data["healthy"] is True


def test_bad_database_url_is_one_clear_line() -> None:
    url = "postgresql://alice:hunter2@127.0.0.1:1/nowhere"
    result = run("db", "status", env={"DATABASE_URL": url})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: cannot connect to PostgreSQL at postgresql://alice:***@")
    assert "hunter2" not in result.stderr + result.stdout


def test_debug_shows_the_traceback() -> None:
    url = "postgresql://alice:hunter2@127.0.0.1:1/nowhere"
    result = run("--debug", "db", "status", env={"DATABASE_URL": url})
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_invalid_config_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("worker_concurrency = [\n")
    result = run("--config", str(bad), "db", "url")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot read config file {bad}")
    bad.write_text('worker_concurrency = "many"\n')
    result = run("--config", str(bad), "db", "url")
    assert result.returncode == 1
    assert "worker_concurrency" in result.stderr and "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
