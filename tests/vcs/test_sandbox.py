"""The command sandbox: file system, network, environment, limits, and the kill on timeout."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from asynccoder_tui.config import Paths
from asynccoder_tui.domain.commands import CommandRunner
from asynccoder_tui.domain.errors import SandboxError
from asynccoder_tui.vcs import sandbox
from asynccoder_tui.vcs.sandbox import (
    BwrapRunner,
    PlainRunner,
    make_runner,
    sandbox_status,
)
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager

BWRAP_WORKS = sandbox._probe_bwrap()[0]
# Run as another user, the venv's interpreter (a symlink into root's home) is out of reach.
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
PROJECT = str(Path(__file__).resolve().parents[2])
ROOT_FILE = Path("/usr/asynccoder-sandbox-test")
needs_bwrap = pytest.mark.skipif(not BWRAP_WORKS, reason="bubblewrap cannot run here")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


def both(workspace: Path) -> list[CommandRunner]:
    runners: list[CommandRunner] = [PlainRunner(workspace)]
    if BWRAP_WORKS:
        runners.append(BwrapRunner(workspace))
    return runners


@needs_bwrap
async def test_commands_cannot_write_outside_the_workspace(workspace: Path, tmp_path: Path) -> None:
    runner = BwrapRunner(workspace, readonly_paths=[tmp_path / "repo.git"])
    (tmp_path / "repo.git").mkdir()
    outside = tmp_path / "outside.txt"
    result = await runner.run(
        f"echo inside > made.txt; echo x > {outside}; touch {ROOT_FILE}; touch {tmp_path}/repo.git/x;"
        " echo done",
        cwd=workspace,
        timeout=20,
    )
    assert result.sandboxed and result.exit_code == 0
    assert (workspace / "made.txt").read_text() == "inside\n"
    assert not outside.exists(), "wrote through to the real /tmp"
    assert not await asyncio.to_thread(ROOT_FILE.exists)
    assert not (tmp_path / "repo.git" / "x").exists()
    assert "Read-only file system" in result.output


@needs_bwrap
async def test_commands_cannot_reach_the_network_unless_allowed(workspace: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        probe = f"bash -c 'echo hi > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED || echo REFUSED"
        closed = await BwrapRunner(workspace).run(probe, cwd=workspace, timeout=20)
        assert "REFUSED" in closed.output and "CONNECTED" not in closed.output
        opened = await BwrapRunner(workspace, network=True).run(probe, cwd=workspace, timeout=20)
        assert "CONNECTED" in opened.output
    finally:
        server.close()


async def test_commands_do_not_see_api_keys_or_tokens(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret-1",
        "OPENAI_API_KEY": "sk-openai-secret-2",
        "GITHUB_TOKEN": "ghp_secret3",
        "GH_TOKEN": "gho_secret4",
        "DATABASE_URL": "postgresql://u:pw-secret5@db/x",
        "AWS_SECRET_ACCESS_KEY": "aws-secret6",
        "ASYNCCODER_GITHUB_TOKEN": "secret7",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    for runner in both(workspace):
        result = await runner.run("env", cwd=workspace, timeout=20, env={"EXTRA": "given"})
        for value in secrets.values():
            assert value not in result.output, f"{runner.__class__.__name__} leaked {value}"
        assert "EXTRA=given" in result.output and "LANG=C.UTF-8" in result.output
        assert "PATH=" in result.output


def sleepers(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if marker in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


@pytest.mark.parametrize("kind", ["plain", "bwrap"])
async def test_timeout_kills_the_command_and_all_its_children(workspace: Path, kind: str) -> None:
    if kind == "bwrap" and not BWRAP_WORKS:
        pytest.skip("bubblewrap cannot run here")
    runner: CommandRunner = PlainRunner(workspace) if kind == "plain" else BwrapRunner(workspace)
    marker = f"31{os.getpid() % 1000}.{1 if kind == 'plain' else 2}"
    command = (
        f"sleep {marker} & setsid sleep {marker} & (sleep {marker} &); sleep 0.7; sleep {marker}"
    )
    started = time.monotonic()
    result = await runner.run(command, cwd=workspace, timeout=1.5)
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 6
    await asyncio.sleep(0.2)
    assert sleepers(f"sleep {marker}") == [], "a child outlived the timeout"


async def test_cancelling_kills_the_command_and_reraises(workspace: Path) -> None:
    for runner in both(workspace):
        marker = f"32{os.getpid() % 1000}.{int(runner.sandboxed)}"
        task = asyncio.create_task(
            runner.run(f"sleep {marker} & sleep {marker}", cwd=workspace, timeout=60)
        )
        await asyncio.sleep(0.8)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.2)
        assert sleepers(f"sleep {marker}") == []


async def test_background_processes_do_not_outlive_their_command(workspace: Path) -> None:
    for runner in both(workspace):
        marker = f"33{os.getpid() % 1000}.{int(runner.sandboxed)}"
        result = await runner.run(f"sleep {marker} & echo started", cwd=workspace, timeout=20)
        assert result.exit_code == 0 and result.output == "started\n"
        await asyncio.sleep(0.2)
        assert sleepers(f"sleep {marker}") == []


async def test_output_is_capped_head_and_tail(workspace: Path) -> None:
    for runner in both(workspace):
        result = await runner.run(
            "echo FIRST; head -c 500000 /dev/zero | tr '\\0' x; echo; echo LAST",
            cwd=workspace,
            timeout=20,
            output_limit=2000,
        )
        assert result.truncated
        assert result.output.startswith("FIRST") and result.output.rstrip().endswith("LAST")
        assert len(result.output) < 2300


async def test_cwd_must_be_inside_the_workspace(workspace: Path, tmp_path: Path) -> None:
    for runner in both(workspace):
        with pytest.raises(SandboxError, match="outside the workspace"):
            await runner.run("true", cwd=tmp_path, timeout=5)
    (workspace / "sub").mkdir()
    (workspace / "link").symlink_to(tmp_path)
    runner = PlainRunner(workspace)
    assert (await runner.run("pwd", cwd=workspace / "sub", timeout=5)).exit_code == 0
    with pytest.raises(SandboxError):
        await runner.run("true", cwd=workspace / "link", timeout=5)


@pytest.fixture
def nobody_workspace() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="asynccoder-nproc-"))
    root.chmod(0o777)
    yield root
    shutil.rmtree(root, ignore_errors=True)


NPROC_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from asynccoder_tui.vcs.sandbox import BwrapRunner, PlainRunner

    async def main():
        ws = Path(sys.argv[1])
        kind = BwrapRunner if sys.argv[2] == "bwrap" else PlainRunner
        for limit in (None, 10):
            runner = kind(ws, max_processes=limit)
            result = await runner.run(
                "i=0; while [ $i -lt 40 ]; do sleep 3 & i=$((i+1)); done; echo SPAWNED-ALL",
                cwd=ws, timeout=30,
            )
            print(limit, result.exit_code, result.output.replace("\\n", " | "))

    asyncio.run(main())
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a check as another user")
@pytest.mark.parametrize("kind", ["plain", "bwrap"])
async def test_process_limit_stops_fork_bombs_of_ordinary_users(
    nobody_workspace: Path, kind: str
) -> None:
    if kind == "bwrap" and not BWRAP_WORKS:
        pytest.skip("bubblewrap cannot run here")
    site = next(p for p in sys.path if p.endswith("site-packages"))

    def as_nobody() -> None:
        os.setgid(65534)
        os.setuid(65534)

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(nobody_workspace),
        "PYTHONPATH": f"{PROJECT}:{site}",
    }
    proc = await asyncio.create_subprocess_exec(
        SYSTEM_PYTHON, "-c", NPROC_SCRIPT, str(nobody_workspace), kind,
        preexec_fn=as_nobody, env=env, cwd=nobody_workspace,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    if proc.returncode != 0 and b"ModuleNotFoundError" in err:
        pytest.skip(f"the project cannot be imported as another user: {err.decode()[-200:]}")
    assert proc.returncode == 0, err.decode()
    unlimited, limited = out.decode().strip().splitlines()
    assert unlimited.startswith("None 0") and "SPAWNED-ALL" in unlimited
    assert limited.startswith("10 ") and "fork" in limited.lower()


async def test_make_runner_and_status_follow_the_setting(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = await make_runner("none", workspace=workspace)
    assert isinstance(plain, PlainRunner) and not plain.sandboxed
    status = await sandbox_status("none")
    assert (status.name, status.available) == ("plain", False)
    assert "turned off" in status.reason
    if BWRAP_WORKS:
        assert isinstance(await make_runner("auto", workspace=workspace), BwrapRunner)
        assert (await sandbox_status("auto")).available

    monkeypatch.setattr(sandbox, "_PROBE_CACHE", {})
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    fallback = await make_runner("auto", workspace=workspace)
    assert isinstance(fallback, PlainRunner)
    status = await sandbox_status("auto")
    assert status.name == "plain" and not status.available
    assert "bwrap) is not installed" in status.reason and "without a sandbox" in status.reason
    with pytest.raises(SandboxError, match="not installed"):
        await make_runner("bwrap", workspace=workspace)
    with pytest.raises(SandboxError, match="unknown sandbox mode"):
        await make_runner("docker", workspace=workspace)


@needs_bwrap
async def test_workspace_runner_hides_app_data_and_allows_read_only_git(
    manager: WorkspaceManager, github_spec: RepoSpec, paths: Paths
) -> None:
    paths.key_file.write_text("top secret key\n")
    (paths.config_dir / "config.toml").write_text('anthropic_api_key = "sk-ant-x"\n')
    ws = await manager.prepare(github_spec, task_id="t1", slug="sbx")
    runner = await manager.command_runner(ws)
    assert runner.sandboxed
    result = await runner.run(
        f"cat {paths.key_file}; cat {paths.config_dir}/config.toml; ls {paths.workspaces};"
        " git log --oneline -1; echo new > file.txt; git status --short;"
        " git commit -qam sneaky 2>&1 | tail -1; echo end",
        cwd=ws.path,
        timeout=30,
    )
    assert "top secret key" not in result.output and "sk-ant-x" not in result.output
    assert "No such file" in result.output
    assert "initial" in result.output, "git log failed inside the sandbox"
    assert "?? file.txt" in result.output
    assert result.output.rstrip().endswith("end")
    head = await asyncio.to_thread(
        subprocess.check_output, ["git", "-C", str(ws.path), "rev-parse", "HEAD"], text=True
    )
    assert head.strip() == ws.base_sha, "a commit from inside the sandbox got through"
