"""Ctrl-C while `task submit --wait` follows a task says what became of the task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_cli import run
from tests.engine.conftest import git


def test_interrupting_wait_names_the_task_and_what_happens_to_it(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {**os.environ, "DATABASE_URL": db_url}
    assert run("repo", "add", str(root), env=env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "asynccoder_tui", "task", "submit", "--repo", str(root),
         "--model", "scripted:slow", "--wait", "Wait for me"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or "[started]" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    task = next(
        t for t in json.loads(run("task", "list", "--json", env=env).stdout)
        if t["title"] == "Wait for me"
    )  # fmt: skip
    assert task["id"][:8] in err, err
    assert f"asynccoder task cancel {task['id'][:8]}" in err, err
    assert "Traceback" not in err
