"""`asynccoder task submit --plan` and `task plan show|edit|approve`, as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run
from tests.engine.conftest import git


def test_plan_commands(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {"DATABASE_URL": db_url}
    assert run("repo", "add", str(root), env=env).returncode == 0
    done = run(
        "task", "submit", "Build it", "--plan", "--repo", str(root), "--model",
        "scripted:planner", "--wait", "--json", env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    task_id = json.loads(run("task", "list", "--json", env=env).stdout)[0]["id"]

    shown = run("task", "plan", "show", task_id[:8], env=env)
    assert shown.returncode == 0, shown.stderr
    assert "plan proposed: 0/0" in shown.stdout and "3. [coder] Gamma joins them after 1, 2" in (
        shown.stdout
    )
    cyclic = home / "cyclic.json"
    cyclic.write_text(json.dumps([
        {"title": "A", "prompt": "a", "depends_on": [2]},
        {"title": "B", "prompt": "b", "depends_on": [1]},
    ]))  # fmt: skip
    refused = run("task", "plan", "edit", task_id, str(cyclic), env=env)
    assert refused.returncode != 0 and "cycle" in refused.stderr

    approved = run("task", "plan", "approve", task_id, "--json", env=env)
    assert approved.returncode == 0, approved.stderr
    data = json.loads(approved.stdout.split("\n", 1)[1])
    assert data["status"] == "approved" and data["progress"] == {"done": 0, "total": 3}
    first_two = sorted(c["id"] for c in data["children"][:2])
    assert sorted(data["children"][2]["depends_on"]) == first_two


def test_a_skipped_subtask_is_printed_as_skipped_not_merged(capsys) -> None:
    """`plan-resume --skip` leaves the subtask unmerged: the printed plan says so."""
    from uuid import uuid4

    from asynccoder_tui.cli.plans import print_plan
    from asynccoder_tui.db.plans import Child
    from asynccoder_tui.services.plans import PlanView

    subtasks = [
        {"title": "One way", "prompt": "write same.txt: one", "role": "coder", "depends_on": []},
        {"title": "Another", "prompt": "write same.txt: two", "role": "coder", "depends_on": []},
    ]
    children = [
        Child(uuid4(), 0, "One way", "completed", "b1", True, [], skipped=True),
        Child(uuid4(), 1, "Another", "completed", "b2", True, []),
    ]
    print_plan(PlanView(uuid4(), "merged", subtasks, None, children))
    out = capsys.readouterr().out
    assert "plan merged: 1/2 subtasks merged, 1 skipped" in out
    assert "1. [coder] One way (completed, skipped)" in out
    assert "2. [coder] Another (completed, merged)" in out
