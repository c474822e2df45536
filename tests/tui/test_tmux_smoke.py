"""The real `asynccoder` program in a real terminal (tmux): start with an embedded database of
its own, open the demo, submit the task, watch it complete, open its diff, quit, and leave
nothing running behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check
        )

    def screen(self) -> str:
        done = self.run("capture-pane", "-p", "-t", self.session, check=False)
        return done.stdout

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.session, check=False).returncode == 0

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            if not self.alive():
                raise AssertionError(f"the program exited while waiting for {text!r}")
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never showed; the screen was:\n{self.screen()}")


def _program() -> list[str]:
    script = Path(sys.executable).parent / "asynccoder"
    return [str(script)] if script.exists() else [sys.executable, "-m", "asynccoder_tui"]


def _ours(home: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            line = " ".join(proc.info["cmdline"] or [])
        except (psutil.Error, TypeError):
            continue
        if str(home) in line:
            found.append(proc)
    return found


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    home = tmp_path / "smoke-home"
    socket = f"asynccoder-smoke-{uuid.uuid4().hex[:8]}"
    term = Tmux(socket, "smoke")
    env = {
        "ASYNCCODER_HOME": str(home),
        "ASYNCCODER_CONFIG": str(tmp_path / "config.toml"),
        "ASYNCCODER_WORKER_CONCURRENCY": "1",
        "ASYNCCODER_USE_GH_CLI_TOKEN": "false",
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    command = " ".join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *_program()])
    term.run(
        "-f", "/dev/null", "new-session", "-d", "-s", "smoke", "-x", "150", "-y", "45", command
    )
    try:
        yield term, home
    finally:
        if term.alive():
            term.run("kill-server", check=False)
        for proc in _ours(home):  # only what this test started, by its own home folder
            proc.kill()


def test_demo_end_to_end_in_a_real_terminal(tmux: tuple[Tmux, Path]) -> None:
    term, home = tmux
    term.wait_for("Welcome to Async Coder", timeout=90)
    term.send("d")
    term.wait_for("New task")
    term.wait_for("credits expected", timeout=30)
    term.send("C-s")
    term.wait_for("Task queued", timeout=30)
    shown = term.wait_for("completed", timeout=90)
    assert "demo-project" in shown
    term.send("4")
    shown = term.wait_for("Touched by the Async Coder demo", timeout=30)
    assert "README.md" in shown
    term.send("q")
    deadline = time.monotonic() + 30
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), "the program did not quit"
    deadline = time.monotonic() + 20
    while _ours(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ours(home) == [], "processes were left running"
