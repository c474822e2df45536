"""`task submit --wait`: Ctrl-C says what became of the task; a worker that died while the task
waited in the queue does not leave it waiting forever."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from asynccoder_tui.db import workers
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


@pytest.mark.slow
def test_wait_runs_the_task_itself_once_the_only_worker_has_died(db_url: str, home: Path) -> None:
    root = home / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# P\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    env = {"DATABASE_URL": db_url, "ASYNCCODER_LEASE_SECONDS": "5"}
    assert run("repo", "add", str(root), env=env).returncode == 0

    async def register_dead_worker() -> None:
        conn = await asyncpg.connect(db_url)
        try:  # a worker killed with kill -9 a moment ago: a fresh heartbeat, no process
            await workers.register(
                conn, "dead:1:000000", hostname="gone", pid=999_999_999, concurrency=2
            )
        finally:
            await conn.close()

    asyncio.run(register_dead_worker())
    done = run(
        "task", "submit", "--repo", str(root), "--model", "scripted:demo", "--wait",
        "Nobody else runs me", env=env, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "running this task here" in done.stderr
