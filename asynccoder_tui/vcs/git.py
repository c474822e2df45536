"""An async runner for git subprocesses.

Every git call of Async Coder goes through `Git.run`: an argv list (never a shell), run as a
subprocess so the event loop never blocks, killed with its children on timeout or cancellation,
and failing with a `GitError` that names the command and quotes git's own message.

The environment is hardened so nothing of the user's or the repository's set-up can change what
we do or run code behind our back:

- no system or global git config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), no
  inherited `GIT_*` variables (a `GIT_DIR` or `GIT_TRACE_CURL` leaking in from outside), no
  terminal or askpass prompts, ssh in batch mode;
- configuration given through the environment (`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`, the same
  rank as `-c`): hooks off (`core.hooksPath=/dev/null`, an agent could otherwise plant a hook and
  have it run outside the sandbox at commit time), no fsmonitor, no credential helpers, no
  automatic gc, no signing, `ext::`/`fd::` transports refused;
- secrets (the push token) travel only in that environment, are redacted from error messages
  and are never logged. Nothing here writes them to disk.

It must not know about workspaces, tasks or the database: it runs git, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.domain.errors import GitError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 300.0
"""Seconds a git command may run (fetches of large repositories need minutes)."""

HARDENING_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.quotePath", "false"),
    ("core.pager", "cat"),
    ("color.ui", "false"),
    ("credential.helper", ""),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("push.gpgSign", "false"),
    ("protocol.ext.allow", "never"),
    ("protocol.fd.allow", "never"),
    ("submodule.recurse", "false"),
    ("advice.detachedHead", "false"),
    ("init.defaultBranch", "main"),
)

_STDERR_LIMIT = 2000


@dataclass(frozen=True)
class GitResult:
    """What a finished git command produced."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def text(self) -> str:
        """stdout decoded as UTF-8 (undecodable bytes replaced), without the final newline."""
        return self.stdout.decode("utf-8", errors="replace").rstrip("\n")


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its common encodings) replaced by `***`."""
    import base64

    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "***")
        for user in ("x-access-token", "oauth2", "git"):
            encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
            text = text.replace(encoded, "***")
    return text


def git_environment(
    config: Sequence[tuple[str, str]] = (), extra_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for one git process: ours minus `GIT_*`, plus the hardening above."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GIT_") and name not in ("SSH_ASKPASS", "EDITOR", "VISUAL")
    }
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
        GIT_EDITOR="true",
        GIT_OPTIONAL_LOCKS="0",
        LC_ALL="C",
        LANGUAGE="C",
    )
    pairs = [*HARDENING_CONFIG, *config]
    env["GIT_CONFIG_COUNT"] = str(len(pairs))
    for index, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    if extra_env:
        env.update(extra_env)
    return env


def describe(args: Sequence[str], secrets: Iterable[str] = ()) -> str:
    """A shell-like rendering of a git command for messages (secrets redacted)."""
    return redact(shlex.join(["git", *args]), secrets)


class Git:
    """Runs git for one repository context.

    `git_dir` and `work_tree`, when given, are passed explicitly (`--git-dir`, `--work-tree`),
    so git never trusts a `.git` file inside a workspace that an agent could have rewritten.
    """

    def __init__(
        self,
        *,
        cwd: Path | None = None,
        git_dir: Path | None = None,
        work_tree: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.cwd = cwd if cwd is not None else work_tree
        self.git_dir = git_dir
        self.work_tree = work_tree
        self.timeout = timeout

    def _prefix(self) -> list[str]:
        prefix: list[str] = []
        if self.git_dir is not None:
            prefix.append(f"--git-dir={self.git_dir}")
        if self.work_tree is not None:
            prefix.append(f"--work-tree={self.work_tree}")
        return prefix

    async def run(
        self,
        *args: str,
        input: bytes | None = None,
        check: bool = True,
        timeout: float | None = None,
        config: Sequence[tuple[str, str]] = (),
        env: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
        hint: str | None = None,
    ) -> GitResult:
        """Run `git <args>`; raise `GitError` on a non-zero exit when `check` is true.

        `config` pairs reach git through the environment (never argv); `secrets` are redacted
        from any message this call produces.
        """
        argv = [*self._prefix(), *args]
        limit = self.timeout if timeout is None else timeout
        log.debug("git %s (cwd=%s)", describe(args, secrets), self.cwd)
        try:
            process = await asyncio.create_subprocess_exec(
                "git",
                *argv,
                cwd=str(self.cwd) if self.cwd is not None else None,
                env=git_environment(config, env),
                stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError as err:
            missing = "git" if self.cwd is None or self.cwd.is_dir() else str(self.cwd)
            raise GitError(
                f"cannot run {describe(args, secrets)}: {missing} not found",
                hint="install git 2.32 or later and make sure it is on PATH",
            ) from err
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(input), timeout=limit)
        except TimeoutError:
            await _kill(process)
            raise GitError(
                f"{describe(args, secrets)} did not finish within {limit:.0f} s and was stopped",
                hint=hint or "check the network and the repository size, then try again",
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(_kill(process))
            raise
        result = GitResult(tuple(args), process.returncode or 0, stdout, stderr)
        if check and not result.ok:
            raise command_failed(result, secrets, hint)
        return result

    async def text(
        self,
        *args: str,
        input: bytes | None = None,
        config: Sequence[tuple[str, str]] = (),
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Run git (which must succeed) and return its stdout as text."""
        return (await self.run(*args, input=input, config=config, env=env)).text

    async def succeeds(self, *args: str, config: Sequence[tuple[str, str]] = ()) -> bool:
        """True when `git <args>` exits with 0 (for questions such as `rev-parse --verify`)."""
        return (await self.run(*args, check=False, config=config)).ok


def command_failed(
    result: GitResult, secrets: Sequence[str] = (), hint: str | None = None
) -> GitError:
    """The `GitError` for a failed command: the command, its exit code and git's message."""
    message = result.stderr.decode("utf-8", errors="replace").strip()
    if not message:
        message = result.stdout.decode("utf-8", errors="replace").strip()
    if len(message) > _STDERR_LIMIT:
        message = "…" + message[-_STDERR_LIMIT:]
    text = f"{describe(result.args, secrets)} failed (exit {result.returncode})"
    if message:
        text += f": {message}"
    return GitError(redact(text, secrets), hint=hint)


async def _kill(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group (git's helpers: ssh, remote-https, pack-objects) and reap."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    with contextlib.suppress(Exception):
        await process.wait()


async def git_version() -> tuple[int, int, int]:
    """The installed git's version as a tuple (for doctor and for feature checks)."""
    out = await Git().text("--version")
    digits: list[int] = []
    for part in out.split()[-1].split(".")[:3]:
        num = "".join(ch for ch in part if ch.isdigit())
        digits.append(int(num) if num else 0)
    while len(digits) < 3:
        digits.append(0)
    return digits[0], digits[1], digits[2]
