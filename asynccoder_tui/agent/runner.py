"""A plain subprocess `CommandRunner`: timeout, process-group kill, head-and-tail output cap.

Used where no sandbox is available and by tests; the engine normally hands the loop the
sandboxed runner of `vcs/`. Each command runs as `/bin/sh -c` in a new session (its own process
group) with stdin closed and stderr merged into stdout. On timeout or cancellation every process
of the group, and every descendant found before the kill (also those that moved to a group of
their own), gets SIGTERM, then SIGKILL after a short grace. Background processes a command
leaves behind when it exits are stopped the same way, so no stray process outlives its command
or holds its output pipe open.

The child environment is this process's environment without secrets (API keys, tokens, the
database URL) unless the caller passes them explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from asynccoder_tui.domain.commands import CommandResult, HeadTailBuffer

KILL_GRACE_SECONDS = 0.5
SECRET_ENV_NAMES = frozenset(
    {
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "OPENAI_API_KEY",
        "OPENAI_ADMIN_KEY",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "DATABASE_URL",
        "PGPASSWORD",
    }
)


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a command: ours minus secrets, plus `extra`."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SECRET_ENV_NAMES
        and not name.startswith("ASYNCCODER_")
        and not name.endswith(("_API_KEY", "_SECRET", "_TOKEN", "_PASSWORD"))
    }
    env.setdefault("PAGER", "cat")
    env.setdefault("GIT_PAGER", "cat")
    env["GIT_TERMINAL_PROMPT"] = "0"
    if extra:
        env.update(extra)
    return env


def _descendants(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency; the group kill still works
        return []
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _signal_all(pgid: int, pids: list[int], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _alive(pgid: int, pids: list[int]) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        pass
    for pid in pids:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            continue
        try:
            import psutil

            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                continue
        except Exception:  # the process went away between the two checks
            continue
        return True
    return False


async def kill_process_tree(pgid: int, pids: list[int], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the group and `pids`, wait up to `grace` seconds, then SIGKILL what is left."""
    _signal_all(pgid, pids, signal.SIGTERM)
    polls = max(1, int(grace / 0.02))
    for _ in range(polls):
        if not _alive(pgid, pids):
            break
        await asyncio.sleep(0.02)
    _signal_all(pgid, pids, signal.SIGKILL)


async def _wait_exit(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """True once the process has exited; False after `timeout` seconds.

    `Process.wait()` also waits for the output pipe to close, which a background child can
    hold open forever, so the exit status is polled instead.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    interval = 0.005
    while process.returncode is None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
        interval = min(0.05, interval * 1.5)
    return True


class SubprocessRunner:
    """Runs commands as plain subprocesses (not isolated: `sandboxed` is False)."""

    def __init__(self, *, kill_grace: float = KILL_GRACE_SECONDS) -> None:
        self.kill_grace = kill_grace

    @property
    def sandboxed(self) -> bool:
        return False

    async def run(
        self,
        command: str,
        *,
        cwd: Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        output_limit: int = 30_000,
    ) -> CommandResult:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=str(cwd),
            env=child_environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        pgid = process.pid
        buffer = HeadTailBuffer(output_limit)
        assert process.stdout is not None
        stdout = process.stdout

        async def pump() -> None:
            while chunk := await stdout.read(65536):
                buffer.write(chunk)

        reader = asyncio.create_task(pump())
        timed_out = False
        try:
            if not await _wait_exit(process, timeout):
                timed_out = True
                await kill_process_tree(pgid, [pgid, *_descendants(pgid)], self.kill_grace)
            else:
                # Stop what the command left running in the background: it would hold the
                # output pipe open and outlive the command.
                leftovers = _descendants(pgid)
                if _alive(pgid, []) or leftovers:
                    await kill_process_tree(pgid, leftovers, self.kill_grace)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(reader), timeout=2.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), timeout=2.0)
        except asyncio.CancelledError:
            await asyncio.shield(
                kill_process_tree(pgid, [pgid, *_descendants(pgid)], self.kill_grace)
            )
            reader.cancel()
            # Let the child watcher reap the shell before the process object goes away.
            await asyncio.shield(_wait_exit(process, 1.0))
            raise
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        return CommandResult(
            exit_code=None if timed_out else process.returncode,
            output=buffer.text(),
            timed_out=timed_out,
            truncated=buffer.truncated,
            duration=time.monotonic() - started,
            sandboxed=False,
        )
