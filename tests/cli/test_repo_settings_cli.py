"""`asynccoder repo show` and `asynccoder repo set`, run as real processes on a fresh database."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from tests.cli.test_cli import run
from tests.engine.conftest import git


async def _settings_and_audits(db_url: str) -> tuple[dict, int]:
    conn = await asyncpg.connect(db_url)
    try:
        raw = await conn.fetchval("SELECT settings FROM repositories")
        audits = await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE action = 'repository.settings_changed'"
        )
    finally:
        await conn.close()
    return json.loads(raw) if isinstance(raw, str) else raw, int(audits)


async def test_repo_show_and_set(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {"DATABASE_URL": db_url}
    assert run("repo", "add", str(root), env=env).returncode == 0

    shown = run("repo", "show", str(root), env=env)
    assert shown.returncode == 0, shown.stderr
    assert "test command    (none)" in shown.stdout and "review          off" in shown.stdout

    done = run(
        "repo", "set", "project", "--test-command", "pytest -q", "--setup-command",
        "pip install -e .", "--review", "on", "--network", "on", "--copy-file", ".env",
        "--copy-file", "config/local.toml", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "saved for project:" in done.stdout and "test_command" in done.stdout
    saved, audits = await _settings_and_audits(db_url)
    assert saved["test_command"] == "pytest -q" and saved["setup_command"] == "pip install -e ."
    assert saved["review"] == "on" and saved["network"] is True
    assert saved["copy_files"] == [".env", "config/local.toml"]
    assert audits == 1

    data = json.loads(run("repo", "show", str(root), "--json", env=env).stdout)
    assert data["name"] == "project" and data["kind"] == "local"
    assert data["settings"]["test_command"] == "pytest -q"
    assert data["settings"]["copy_files"] == [".env", "config/local.toml"]
    assert data["settings"]["network"] is True

    # The same values again: nothing is written.
    same = run("repo", "set", "project", "--test-command", "pytest -q", env=env)
    assert same.returncode == 0 and "nothing changed" in same.stdout
    assert (await _settings_and_audits(db_url))[1] == 1

    cleared = run(
        "repo", "set", "project", "--test-command", "", "--clear-copy-files", "--network",
        "default", "--json", env=env,
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    out = json.loads(cleared.stdout)
    assert out["settings"]["test_command"] is None and out["settings"]["copy_files"] == []
    assert out["settings"]["network"] is None
    assert out["changed"] == ["copy_files", "network", "test_command"]

    for argv, words in (
        (["--copy-file", "/etc/passwd"], "absolute path"),
        (["--copy-file", "../secrets"], "leaves the repository"),
        (["--test-command", "make\ntest"], "control character"),
        (["--test-command", "x" * 4001], "at most 4,000"),
        (["--review-model", "no-such-model"], "not a known model"),
        ([], "nothing to change"),
    ):
        bad = run("repo", "set", "project", *argv, env=env)
        assert bad.returncode == 2, (argv, bad.stderr)
        assert bad.stderr.startswith("error: ") and words in bad.stderr, bad.stderr
    bad_json = run("repo", "set", "project", "--copy-file", "/x", "--json", env=env)
    assert bad_json.returncode == 2 and "absolute" in json.loads(bad_json.stdout)["error"]
    missing = run("repo", "show", "nowhere", env=env)
    assert missing.returncode == 2 and "not found" in missing.stderr
    assert (await _settings_and_audits(db_url))[1] == 2
