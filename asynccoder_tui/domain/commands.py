"""The command-runner contract shared by the agent's command tool and workspace setup scripts.

`vcs/sandbox.py` implements it (bubblewrap, or a plain subprocess where bwrap is missing); the
agent receives a runner from the engine and never builds one itself. Both sides import only
this module, so neither layer depends on the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel


class HeadTailBuffer:
    """Keeps the first and last `limit // 2` bytes of a stream and counts what it dropped."""

    def __init__(self, limit: int) -> None:
        self.head_limit = max(1, limit // 2)
        self.tail_limit = max(1, limit - self.head_limit)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def write(self, data: bytes) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            self.dropped += excess
            del self.tail[:excess]

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if not self.dropped:
            return head + tail
        return (
            f"{head}\n\n[... {self.dropped} bytes of output elided: showing the first "
            f"{len(self.head)} and last {len(self.tail)} bytes ...]\n\n{tail}"
        )


class CommandResult(BaseModel):
    """What a finished (or killed) command produced."""

    exit_code: int | None
    """The exit code; None when the command was killed (timeout or cancel)."""
    output: str
    """stdout and stderr interleaved, capped: head and tail kept, the middle elided with a note."""
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    duration: float = 0.0
    sandboxed: bool = False


@runtime_checkable
class CommandRunner(Protocol):
    """Runs one shell command inside a workspace."""

    @property
    def sandboxed(self) -> bool:
        """True when commands are isolated (file system, network, environment)."""
        ...

    async def run(
        self,
        command: str,
        *,
        cwd: Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        output_limit: int = 30_000,
    ) -> CommandResult:
        """Run `command` with `/bin/sh -c` in `cwd` (which must be inside the workspace).

        The whole process group is killed on timeout or when the calling task is cancelled
        (the cancellation is re-raised after the kill).
        """
        ...
