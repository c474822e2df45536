"""The command sandbox: what agent commands and setup scripts run in.

`BwrapRunner` (Linux, bubblewrap) gives each command:
- the workspace read-write and the rest of the system read-only; a private `/tmp`, `/run`
  (no host sockets such as docker's or the D-Bus session bus) and an empty home folder, with
  common tool-chain folders of the real home (`~/.cargo/bin`, `~/.pyenv`, `~/.nvm`...) mounted
  back read-only; Async Coder's own data, config, cache and state folders hidden (the key
  file, the database files, other workspaces); the repository's git folder read-only, so
  `git status` and `git log` work; the host's password hashes, sudo rules and SSH host
  keys covered by the null device, which reads as nothing or not at all (root in the sandbox
  could read them otherwise);
- no network unless allowed (its own network namespace with only a loopback), its own pid,
  IPC and UTS namespaces, a new session (no terminal injection), all capabilities dropped;
- an environment without API keys, tokens or passwords (an allow-list, not a deny-list);
- a process limit (`RLIMIT_NPROC` for ordinary users; for root, whom the kernel exempts from
  it, a `pids` cgroup per command, see `pids.py`) and a time limit; on timeout or
  cancellation bubblewrap is killed and with it, through the pid namespace, every process
  the command started, daemons included.

`PlainRunner` is the fallback where bubblewrap is missing or cannot create namespaces: the same
environment, time limit, process limit and tree kill, but no file-system or network isolation;
`sandbox_status()` says so, for `doctor` and the UI.

`make_runner(mode, workspace=...)` picks one: "bwrap" (required), "none" (plain), "auto".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.domain.commands import CommandResult, CommandRunner
from asynccoder_tui.domain.errors import SandboxError
from asynccoder_tui.vcs.pids import PidsCgroup
from asynccoder_tui.vcs.process import KILL_GRACE_SECONDS, run_process

log = logging.getLogger(__name__)

DEFAULT_MAX_PROCESSES = 512
_ENV_ALLOW = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
        "JAVA_HOME", "GOROOT", "GOPATH", "CARGO_HOME", "RUSTUP_HOME", "PYENV_ROOT", "NVM_DIR",
    }
)  # fmt: skip
_SECRET_NAME = re.compile(
    r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)", re.IGNORECASE
)
_HOME_TOOLCHAINS = (
    ".local/bin", ".local/lib", ".pyenv", ".nvm", ".rustup", ".cargo/bin", ".sdkman",
    "go/bin", "go/pkg/mod", ".bun/bin", ".deno/bin", ".volta", ".asdf",
)  # fmt: skip
_SANDBOX_NAME = "asynccoder-sandbox"
# Host files with secrets that file modes alone guard, and so not from root: each is covered by
# the null device inside the sandbox.
_HOST_SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                      "/etc/sudoers", "/etc/security/opasswd")  # fmt: skip
_HOST_SECRET_GLOBS = (("/etc/ssh", "ssh_host_*_key"), ("/etc/sudoers.d", "*"))


def _host_secret_files() -> list[str]:
    found = [p for p in _HOST_SECRET_FILES if os.path.isfile(p)]
    for folder, pattern in _HOST_SECRET_GLOBS:
        with contextlib.suppress(OSError):
            found += sorted(str(p) for p in Path(folder).glob(pattern) if p.is_file())
    return found


def sandbox_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a sandboxed command: an allow-list of ours, plus `extra`.

    Inherited variables pass only when their name is on the allow-list (or `LC_*`) and does
    not look like a secret; `extra` comes from the caller and is taken as given.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if (name in _ENV_ALLOW or name.startswith("LC_")) and not _SECRET_NAME.search(name)
    }
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        TMPDIR="/tmp",
        TERM="dumb",
        PAGER="cat",
        GIT_PAGER="cat",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        NO_COLOR="1",
    )
    if extra:
        env.update(extra)
    return env


def _check_cwd(cwd: Path, workspace: Path) -> Path:
    resolved = cwd.resolve()
    root = workspace.resolve()
    if resolved != root and root not in resolved.parents:
        raise SandboxError(
            f"refusing to run a command in {cwd}: it is outside the workspace {workspace}"
        )
    if not resolved.is_dir():
        raise SandboxError(f"cannot run a command in {cwd}: no such folder")
    return resolved


def _count_user_processes(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def _process_limit_prefix(max_processes: int | None) -> list[str]:
    """`prlimit --nproc=N --` so the command and its children cannot fork without bound.

    RLIMIT_NPROC counts all processes of the user, so the limit is what the user runs now
    plus `max_processes`. Root is exempt in the kernel, so nothing is added for root.
    """
    if max_processes is None or os.geteuid() == 0:
        return []
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    limit = _count_user_processes(os.geteuid()) + max_processes
    return [prlimit, f"--nproc={limit}:{limit}", "--core=0:0", "--"]


class _Runner:
    def __init__(
        self,
        workspace: Path,
        *,
        max_processes: int | None = DEFAULT_MAX_PROCESSES,
        kill_grace: float = KILL_GRACE_SECONDS,
    ) -> None:
        self.workspace = workspace.resolve()
        self.max_processes = max_processes
        self.kill_grace = kill_grace

    def _argv(self, command: str, cwd: Path) -> list[str]:
        raise NotImplementedError

    @property
    def sandboxed(self) -> bool:
        raise NotImplementedError

    async def run(
        self,
        command: str,
        *,
        cwd: Path,
        timeout: float,
        env: Mapping[str, str] | None = None,
        output_limit: int = 30_000,
    ) -> CommandResult:
        where = _check_cwd(cwd, self.workspace)
        prefix = await asyncio.to_thread(_process_limit_prefix, self.max_processes)
        group = None
        if self.max_processes is not None and os.geteuid() == 0:
            group = await asyncio.to_thread(PidsCgroup.create, self.max_processes)
        argv = [*(group.prefix() if group else []), *prefix, *self._argv(command, where)]
        try:
            outcome = await run_process(
                argv,
                cwd=where,
                env=sandbox_environment(env),
                timeout=timeout,
                output_limit=output_limit,
                kill_grace=self.kill_grace,
                watch_interval=None if self.sandboxed else 0.5,
            )
        finally:
            if group is not None:
                await asyncio.shield(asyncio.to_thread(group.remove))
        return CommandResult(
            exit_code=outcome.exit_code,
            output=outcome.output,
            timed_out=outcome.timed_out,
            truncated=outcome.truncated,
            duration=outcome.duration,
            sandboxed=self.sandboxed,
        )


class PlainRunner(_Runner):
    """Commands as plain subprocesses: limits and a clean environment, no isolation."""

    @property
    def sandboxed(self) -> bool:
        return False

    def _argv(self, command: str, cwd: Path) -> list[str]:
        return ["/bin/sh", "-c", command]


class BwrapRunner(_Runner):
    """Commands inside bubblewrap (see the module docstring for what is isolated)."""

    def __init__(
        self,
        workspace: Path,
        *,
        network: bool = False,
        readonly_paths: Sequence[Path] = (),
        hidden_paths: Sequence[Path] = (),
        bwrap: str | None = None,
        max_processes: int | None = DEFAULT_MAX_PROCESSES,
        kill_grace: float = KILL_GRACE_SECONDS,
    ) -> None:
        super().__init__(workspace, max_processes=max_processes, kill_grace=kill_grace)
        self.network = network
        self.readonly_paths = [Path(p).resolve() for p in readonly_paths]
        self.hidden_paths = [Path(p).resolve() for p in hidden_paths]
        found = bwrap or shutil.which("bwrap")
        if found is None:
            raise SandboxError(
                "bubblewrap (bwrap) is not installed", hint="install the bubblewrap package"
            )
        self.bwrap = found

    @property
    def sandboxed(self) -> bool:
        return True

    def _argv(self, command: str, cwd: Path) -> list[str]:
        argv = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-all"]
        if self.network:
            argv.append("--share-net")
        argv += ["--hostname", _SANDBOX_NAME]
        argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        for scratch in ("/tmp", "/var/tmp", "/run", "/dev/shm"):
            if scratch == "/tmp" or Path(scratch).is_dir():
                argv += ["--tmpfs", scratch]
        if self.network and Path("/run/systemd/resolve").is_dir():
            argv += ["--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve"]
        home = Path(os.environ.get("HOME") or "/").resolve()
        for private in (Path("/home"), Path("/root"), home):
            if private != Path("/") and private.is_dir():
                argv += ["--tmpfs", str(private)]
        if home != Path("/"):
            for relative in _HOME_TOOLCHAINS:
                tool = home / relative
                if tool.is_dir():
                    argv += ["--ro-bind", str(tool), str(tool)]
        for hidden in self.hidden_paths:
            if hidden.is_dir():
                argv += ["--tmpfs", str(hidden)]
        for secret in _host_secret_files():
            argv += ["--ro-bind", "/dev/null", secret]
        for path in self.readonly_paths:
            if path.exists():
                argv += ["--ro-bind", str(path), str(path)]
        argv += ["--bind", str(self.workspace), str(self.workspace)]
        if os.geteuid() == 0:
            argv += ["--cap-drop", "ALL"]
        argv += ["--chdir", str(cwd), "--", "/bin/sh", "-c", command]
        return argv


@dataclass(frozen=True)
class SandboxStatus:
    """What `doctor` and the UI show about the sandbox."""

    name: str
    """The runner commands will use: "bwrap" or "plain"."""
    available: bool
    """True when commands are isolated."""
    reason: str


_PROBE_CACHE: dict[str, tuple[bool, str]] = {}


def _probe_bwrap() -> tuple[bool, str]:
    """Whether bubblewrap can create the namespaces we use (cached for the process)."""
    if "bwrap" in _PROBE_CACHE:
        return _PROBE_CACHE["bwrap"]
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        result = (False, "bubblewrap (bwrap) is not installed")
    else:
        argv = [bwrap, "--die-with-parent", "--unshare-all", "--ro-bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", "/bin/true"]  # fmt: skip
        try:
            probe = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            result = (False, f"bwrap cannot run: {err}")
        else:
            if probe.returncode == 0:
                result = (True, f"bubblewrap at {bwrap}")
            else:
                detail = probe.stderr.strip().splitlines()[-1:] or ["unknown error"]
                result = (
                    False,
                    f"bwrap is installed but cannot create a sandbox ({detail[0][:200]}); "
                    "unprivileged user namespaces may be disabled",
                )
    _PROBE_CACHE["bwrap"] = result
    return result


async def sandbox_status(mode: str = "auto") -> SandboxStatus:
    """Which runner `make_runner(mode)` would give, and why."""
    if mode == "none":
        return SandboxStatus("plain", False, "sandbox turned off in settings (sandbox = none)")
    usable, why = await asyncio.to_thread(_probe_bwrap)
    if usable:
        return SandboxStatus("bwrap", True, why)
    if mode == "bwrap":
        return SandboxStatus("bwrap", False, why)
    return SandboxStatus("plain", False, f"{why}: commands run without a sandbox")


async def make_runner(
    mode: str = "auto",
    *,
    workspace: Path,
    network: bool = False,
    readonly_paths: Sequence[Path] = (),
    hidden_paths: Sequence[Path] = (),
    max_processes: int | None = DEFAULT_MAX_PROCESSES,
) -> CommandRunner:
    """The command runner for `workspace` under the sandbox setting `mode`.

    "bwrap" raises `SandboxError` when bubblewrap cannot be used; "auto" falls back to the
    plain runner (and logs why); "none" always gives the plain runner.
    """
    if mode not in ("auto", "bwrap", "none"):
        raise SandboxError(f"unknown sandbox mode {mode!r}", hint="use auto, bwrap or none")
    if mode != "none":
        status = await sandbox_status(mode)
        if status.available:
            return BwrapRunner(
                workspace,
                network=network,
                readonly_paths=readonly_paths,
                hidden_paths=hidden_paths,
                max_processes=max_processes,
            )
        if mode == "bwrap":
            raise SandboxError(status.reason, hint="install bubblewrap or set sandbox = auto")
        log.warning("sandbox unavailable: %s", status.reason)
    return PlainRunner(workspace, max_processes=max_processes)
