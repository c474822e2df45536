"""The subprocess command runner: exit codes, timeouts that kill whole trees, capped output."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from asynccoder_tui.agent.providers.messages import ToolCall
from asynccoder_tui.agent.runner import SubprocessRunner, child_environment
from asynccoder_tui.agent.tools import WorkspaceTools
from asynccoder_tui.domain.commands import CommandRunner


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except OSError:
        return False


def read_pids(root: Path, *names: str) -> list[int]:
    return [int((root / name).read_text().strip()) for name in names]


async def wait_dead(pids: list[int], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.05)
    return False


def test_runner_implements_the_domain_protocol() -> None:
    runner = SubprocessRunner()
    assert isinstance(runner, CommandRunner)
    assert runner.sandboxed is False


async def test_exit_code_and_interleaved_output(tmp_path: Path) -> None:
    result = await SubprocessRunner().run(
        "echo out; echo err >&2; exit 3", cwd=tmp_path, timeout=10
    )
    assert result.exit_code == 3 and not result.timed_out
    assert result.output.splitlines() == ["out", "err"]


async def test_timeout_kills_children_and_grandchildren(tmp_path: Path) -> None:
    command = (
        "sleep 60 & echo $! > child.pid; "
        "sh -c 'sleep 61 & echo $! > grandchild.pid; wait' & "
        "setsid sh -c 'echo $$ > escaped.pid; sleep 62' & "
        "sleep 0.3; echo started; sleep 63"
    )
    started = time.monotonic()
    result = await SubprocessRunner(kill_grace=0.2).run(command, cwd=tmp_path, timeout=1.0)
    elapsed = time.monotonic() - started
    assert result.timed_out and result.exit_code is None
    assert "started" in result.output
    assert elapsed < 5
    pids = read_pids(tmp_path, "child.pid", "grandchild.pid", "escaped.pid")
    assert await wait_dead(pids), [p for p in pids if alive(p)]


async def test_background_leftovers_are_stopped_when_the_command_exits(tmp_path: Path) -> None:
    started = time.monotonic()
    result = await SubprocessRunner(kill_grace=0.2).run(
        "sleep 30 & echo $! > bg.pid; echo done", cwd=tmp_path, timeout=20
    )
    assert result.exit_code == 0 and result.output.strip() == "done"
    assert time.monotonic() - started < 5  # did not wait for the background sleep
    assert await wait_dead(read_pids(tmp_path, "bg.pid"))


async def test_cancelling_the_caller_kills_the_tree(tmp_path: Path) -> None:
    runner = SubprocessRunner(kill_grace=0.2)
    task = asyncio.create_task(
        runner.run("sleep 40 & echo $! > a.pid; sleep 41", cwd=tmp_path, timeout=30)
    )
    for _ in range(100):
        if (tmp_path / "a.pid").exists() and (tmp_path / "a.pid").read_text().strip():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_dead(read_pids(tmp_path, "a.pid"))


async def test_output_keeps_head_and_tail(tmp_path: Path) -> None:
    result = await SubprocessRunner().run(
        "seq 1 200000", cwd=tmp_path, timeout=20, output_limit=2_000
    )
    assert result.truncated and result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "1" and lines[-1] == "200000"
    assert "bytes of output elided" in result.output
    assert len(result.output) < 2_400


async def test_secrets_are_not_passed_to_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-should-not-leak")
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-should-not-leak")
    monkeypatch.setenv("HARMLESS", "visible")
    assert "ANTHROPIC_API_KEY" not in child_environment()
    result = await SubprocessRunner().run("env", cwd=tmp_path, timeout=10)
    assert "should-not-leak" not in result.output
    assert "HARMLESS=visible" in result.output


async def test_run_tool_reports_timeouts_and_exit_codes(workspace: Path) -> None:
    tools = WorkspaceTools(workspace, SubprocessRunner(kill_grace=0.1), command_timeout=5)
    ok = await tools.call(ToolCall(id="1", name="run", arguments={"command": "ls src; exit 2"}))
    assert not ok.is_error and ok.content.startswith("exit code 2") and "app.py" in ok.content
    slow = await tools.call(
        ToolCall(id="2", name="run", arguments={"command": "sleep 10", "timeout": 1})
    )
    assert slow.is_error and "timed out after 1 s" in slow.content
