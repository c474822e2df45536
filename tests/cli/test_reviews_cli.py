"""`asynccoder repo review`, `asynccoder task review` and the executions in `usage --json`,
run as real processes on a fresh database."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run
from tests.engine.conftest import git


def test_review_commands(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {"DATABASE_URL": db_url}
    assert run("repo", "add", str(root), env=env).returncode == 0
    bad = run("repo", "review", str(root), "sometimes", env=env)
    assert bad.returncode != 0
    done = run("repo", "review", str(root), "required", "--model", "scripted:reviewer", env=env)
    assert done.returncode == 0, done.stderr
    assert "review required" in done.stdout and "scripted:reviewer" in done.stdout

    submitted = run(
        "task", "submit", "Add a note", "--repo", str(root), "--model", "scripted:demo",
        "--json", env=env,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    task_id = json.loads(submitted.stdout)["id"]
    shown = run("task", "review", task_id[:8], env=env)
    assert shown.returncode == 0 and "no review yet" in shown.stdout
    data = json.loads(run("task", "review", task_id, "--json", env=env).stdout)
    assert data == {"reviews": [], "review_tasks": []}
    refused = run("task", "review", task_id, "--send-back", env=env)
    assert refused.returncode != 0 and "no review yet" in refused.stderr

    usage = json.loads(run("usage", "--json", env=env).stdout)
    assert usage["executions"] == {"by_agent": {}, "by_model": {}}
