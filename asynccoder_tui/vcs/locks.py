"""Locks that serialise git work on one repository, in this process and across processes.

`RepoLocks.hold(key)` takes an `asyncio.Lock` (tasks of this process queue without polling)
and then an exclusive `flock` on `<lock dir>/<key>.lock` (other `asynccoder` processes on the
same machine, such as `asynccoder worker` next to the TUI). The file lock is tried without
blocking and retried with short sleeps, so waiting never blocks the event loop and a cancelled
waiter just stops waiting. A process that dies releases its locks (the kernel closes the file).

`try_hold_file` is the same file lock as a non-blocking probe: it tells whether some live
process still holds a lock (used to tell a workspace being prepared from an interrupted one).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from asynccoder_tui.domain.errors import WorkspaceError

DEFAULT_WAIT = 900.0


def _open_lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


class RepoLocks:
    """Named exclusive locks backed by files in `lock_dir`."""

    def __init__(self, lock_dir: Path) -> None:
        self.lock_dir = lock_dir
        self._local: dict[str, asyncio.Lock] = {}

    def path_for(self, key: str) -> Path:
        return self.lock_dir / f"{key}.lock"

    @contextlib.asynccontextmanager
    async def hold(
        self, key: str, *, wait: float = DEFAULT_WAIT, what: str = ""
    ) -> AsyncIterator[None]:
        """Hold the lock named `key`; `WorkspaceError` if it cannot be had within `wait` s."""
        local = self._local.setdefault(key, asyncio.Lock())
        async with local:
            fd = _open_lock_file(self.path_for(key))
            try:
                await _acquire(fd, wait, what or key)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


async def _acquire(fd: int, wait: float, what: str) -> None:
    deadline = time.monotonic() + wait
    delay = 0.01
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise WorkspaceError(
                    f"{what} stayed locked by another process for {wait:.0f} s",
                    hint="another worker is using this repository; try again when it finishes",
                ) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


@contextlib.contextmanager
def try_hold_file(path: Path) -> Iterator[bool]:
    """Try to take the file lock at `path` without waiting; yields whether it was taken."""
    fd = _open_lock_file(path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class HeldFile:
    """A file lock held until `release()`: marks work in progress for other processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire_nowait(self) -> bool:
        fd = _open_lock_file(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
