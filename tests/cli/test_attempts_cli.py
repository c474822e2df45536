"""`asynccoder task submit --attempts`, `task attempts` and `task pick`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run
from tests.engine.conftest import git


def test_attempt_commands(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {"DATABASE_URL": db_url}
    assert run("repo", "add", str(root), env=env).returncode == 0
    assert run("task", "submit", "x", "--repo", str(root), "--attempts", "5", env=env).returncode
    made = run(
        "task", "submit", "write a.txt: a", "--repo", str(root), "--attempts", "2",
        "--models", "scripted:writer,scripted:demo", "--json", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ids = [t["id"] for t in json.loads(made.stdout)]
    assert len(ids) == 2
    listed = json.loads(run("task", "attempts", ids[1], "--json", env=env).stdout)
    assert [a["id"] for a in listed] == ids
    assert [a["model"] for a in listed] == ["scripted:writer", "scripted:demo"]
    plain = run("task", "attempts", ids[0][:8], env=env)
    assert plain.returncode == 0 and "no tests" in plain.stdout
    refused = run("task", "pick", ids[0], env=env)
    assert refused.returncode != 0 and "completed" in refused.stderr
