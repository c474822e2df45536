"""Running one command process with a time limit, an output cap and a whole-tree kill.

Shared by the sandbox runners (`vcs/sandbox.py`): the caller builds the argv (bubblewrap or a
plain `/bin/sh -c`) and the environment; this module starts it in a new session, reads stdout
and stderr merged into a head-and-tail buffer (memory stays bounded whatever the command
prints), and on timeout, cancellation or exit stops every process of the session and every
descendant seen before the kill, so nothing the command started outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from asynccoder_tui.domain.commands import HeadTailBuffer

KILL_GRACE_SECONDS = 0.3


@dataclass
class ProcessOutcome:
    exit_code: int | None
    output: str
    timed_out: bool
    truncated: bool
    duration: float


def descendants(pid: int) -> list[psutil.Process]:
    """Every live descendant of `pid` (children of children too)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:  # the process is gone: nothing left to find from it
        return []


def _signal(pgid: int, procs: Sequence[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for proc in procs:
        # is_running() compares the creation time too: a recycled pid is left alone.
        with contextlib.suppress(psutil.Error):
            if proc.is_running():
                proc.send_signal(sig)


def _any_alive(pgid: int, procs: Sequence[psutil.Process]) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        pass
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return True
    return False


async def kill_tree(
    pgid: int, procs: Sequence[psutil.Process], grace: float = KILL_GRACE_SECONDS
) -> None:
    """SIGTERM the session's group and `procs`, wait up to `grace` s, then SIGKILL the rest."""
    _signal(pgid, procs, signal.SIGTERM)
    deadline = time.monotonic() + grace
    # Polling: there is no event for "a process outside our children exited".
    while time.monotonic() < deadline and _any_alive(pgid, procs):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    _signal(pgid, procs, signal.SIGKILL)


class _Watch:
    """Remembers every descendant seen while the command runs (some leave its session)."""

    def __init__(self, pid: int, interval: float) -> None:
        self.pid = pid
        self.interval = interval
        self.seen: dict[int, psutil.Process] = {}

    def scan(self) -> list[psutil.Process]:
        for proc in descendants(self.pid):
            self.seen.setdefault(proc.pid, proc)
        return list(self.seen.values())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.to_thread(self.scan)


class _Protocol(asyncio.SubprocessProtocol):
    """Collects output and reports exit at once, even while a background child keeps the
    output pipe open (which `Process.wait()` would wait for)."""

    def __init__(self, buffer: HeadTailBuffer) -> None:
        self.buffer = buffer
        self.exited = asyncio.Event()
        self.drained = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        self.buffer.write(data if isinstance(data, bytes) else data.encode())

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.drained.set()

    def process_exited(self) -> None:
        self.exited.set()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    output_limit: int,
    kill_grace: float = KILL_GRACE_SECONDS,
    watch_interval: float | None = 0.5,
) -> ProcessOutcome:
    """Run `argv` to completion or until `timeout`; cancellation kills it and re-raises.

    `watch_interval` (seconds) polls for descendants so that those which start a session of
    their own are still stopped; None relies on the process group alone (bubblewrap's pid
    namespace already ends every process of the sandbox when its first process exits).
    """
    started = time.monotonic()
    buffer = HeadTailBuffer(output_limit)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: _Protocol(buffer),
        *argv,
        cwd=str(cwd),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pgid = transport.get_pid()
    watch = _Watch(pgid, watch_interval or 0.0)
    watcher = asyncio.create_task(watch.run()) if watch_interval else None
    timed_out = False
    try:
        try:
            await asyncio.wait_for(protocol.exited.wait(), timeout=timeout)
        except TimeoutError:
            timed_out = True
            await kill_tree(pgid, watch.scan(), kill_grace)
            await protocol.exited.wait()
        else:
            # What the command left running in the background would hold the output pipe
            # open and outlive the command: stop it.
            leftovers = [p for p in watch.scan() if _running(p)]
            if leftovers or _any_alive(pgid, []):
                await kill_tree(pgid, leftovers, kill_grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(protocol.drained.wait(), timeout=2.0)
    except asyncio.CancelledError:
        await asyncio.shield(kill_tree(pgid, watch.scan(), kill_grace))
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        transport.close()
    return ProcessOutcome(
        exit_code=None if timed_out else transport.get_returncode(),
        output=buffer.text(),
        timed_out=timed_out,
        truncated=buffer.truncated,
        duration=time.monotonic() - started,
    )


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
