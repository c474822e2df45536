"""A process limit that holds for root too: one `pids` cgroup per sandboxed command.

`RLIMIT_NPROC` (see `sandbox._process_limit_prefix`) bounds an ordinary user's fork bomb, but
the kernel exempts root from it, and a user namespace does not change that (the limit counts
the real user). Where Async Coder runs as root it can create cgroups: each command then runs
in a cgroup of its own whose `pids.max` is the limit, and the cgroup is removed when the
command has ended. Both layouts are handled: cgroup v1 with the `pids` controller mounted at
`/sys/fs/cgroup/pids`, and cgroup v2 with `pids` available at the root of the hierarchy.
Where neither can be used, `PidsCgroup.create` returns None and says why in the log once.

The command enters its cgroup through a tiny `sh` prefix that writes its own pid into
`cgroup.procs` and then `exec`s the real argv, so every process it starts is counted. A worker
killed mid-command leaves its cgroup behind; the first command of each process removes the
empty ones older than a minute (a cgroup being set up right now is younger, and the kernel
refuses to remove one that still holds a process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_GROUP = "asynccoder"
_warned: set[str] = set()
_swept: set[Path] = set()
SWEEP_AGE = 60.0


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _base() -> Path | None:
    """The folder our command cgroups go under, or None when there is none we may use."""
    v1 = CGROUP_ROOT / "pids"
    if (v1 / "cgroup.procs").is_file() and _writable_dir(v1):
        return v1 / _GROUP
    controllers = CGROUP_ROOT / "cgroup.controllers"
    if controllers.is_file() and _writable_dir(CGROUP_ROOT):
        if "pids" not in controllers.read_text().split():
            return None
        subtree = CGROUP_ROOT / "cgroup.subtree_control"
        if "pids" not in subtree.read_text().split():
            subtree.write_text("+pids")
        return CGROUP_ROOT / _GROUP
    return None


class PidsCgroup:
    """One command's cgroup with `pids.max` set; `remove()` when the command has ended."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, limit: int) -> PidsCgroup | None:
        try:
            base = _base()
            if base is None:
                _warn_once("no pids cgroup controller to use")
                return None
            base.mkdir(exist_ok=True)
            if base not in _swept:
                _swept.add(base)
                _sweep(base)
            if (base / "cgroup.subtree_control").is_file():
                with contextlib.suppress(OSError):
                    (base / "cgroup.subtree_control").write_text("+pids")
            path = base / uuid.uuid4().hex[:16]
            path.mkdir()
            try:
                (path / "pids.max").write_text(str(limit))
            except OSError:
                path.rmdir()
                raise
        except OSError as err:
            _warn_once(f"cannot create a pids cgroup ({err.strerror or err})")
            return None
        return cls(path)

    def prefix(self) -> list[str]:
        """An argv prefix that moves the command into this cgroup before it runs."""
        return [
            "/bin/sh", "-c", 'echo $$ > "$0" || exit 126; exec "$@"',
            str(self.path / "cgroup.procs"),
        ]  # fmt: skip

    def members(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def remove(self, wait: float = 3.0) -> None:
        """Kill what is left in the cgroup and remove it (waiting for the kernel to let go)."""
        deadline = time.monotonic() + wait
        while True:
            for pid in self.members():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as err:
                if time.monotonic() > deadline:
                    log.warning("cannot remove the command's cgroup %s: %s", self.path, err)
                    return
            time.sleep(0.02)


def _sweep(base: Path) -> None:
    """Remove the empty command cgroups older than `SWEEP_AGE` seconds (left by killed workers)."""
    now = time.time()
    for entry in base.iterdir():
        try:
            if entry.is_dir() and now - entry.stat().st_mtime > SWEEP_AGE:
                entry.rmdir()
        except OSError:
            continue  # still in use, or already gone


def _warn_once(why: str) -> None:
    if why not in _warned:
        _warned.add(why)
        log.warning("running as root without a process limit for commands: %s", why)
