"""Sandbox escape attempts from the agent's command tool, run the way the engine runs them:
through `WorkspaceManager.command_runner` on a real task workspace (bubblewrap here), as the
user this suite runs as (root on the test machines: the process limit must hold for root).

Each attempt is a shell command and a check that it achieved nothing: no file outside the
workspace written, nothing of the user's home or Async Coder's own data read, no connection
made, no secret seen in the environment, no fork bomb past the process limit, no process of
the host killed, no git hook planted. The command's own output must show the refusal.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from asynccoder_tui.config import Settings
from asynccoder_tui.vcs.sandbox import DEFAULT_MAX_PROCESSES
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager
from tests.reliability.harness import environment, make_repository

SECRET_ENV = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-SandboxEscapeProbe-0000000000000000",
    "OPENAI_API_KEY": "sk-proj-SandboxEscapeProbe-00000000000000000000",
    "GITHUB_TOKEN": "ghp_SandboxEscapeProbe000000000000000000",
    "AWS_SECRET_ACCESS_KEY": "aws-SandboxEscapeProbe-secret-000000000000",
    "DATABASE_URL": "postgresql://u:SandboxEscapeProbeDbPassword@127.0.0.1/db",
    "MY_SERVICE_PASSWORD": "SandboxEscapeProbePassword0000",
}
HOME_SECRET = "SandboxEscapeProbe-private-key-material"


@dataclass
class Attempt:
    name: str
    command: str
    refused: Callable[[str, Any], str | None]
    """(output, context) -> why the attempt was not refused, or None when it was."""
    timeout: float = 20.0


@dataclass
class EscapeReport:
    sandbox: str = ""
    attempts: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fork_peak: int = 0
    """The most processes seen under the worker during the fork attempts (<= the limit)."""

    def line(self) -> str:
        return (
            f"sandbox_escape: {len(self.attempts)} attempts in {self.sandbox}, "
            f"{len(self.attempts) - len({p.split(':')[0] for p in self.problems})} refused, "
            f"{len(self.problems)} escapes (fork attempts peaked at {self.fork_peak} processes, "
            f"limit {DEFAULT_MAX_PROCESSES})"
        )


class _Context:
    def __init__(self, workdir: Path, ws: Any, manager: WorkspaceManager) -> None:
        self.workdir = workdir
        self.ws = ws
        self.manager = manager
        self.marker = f"escape-{uuid.uuid4().hex[:8]}"
        self.home = workdir / "home-of-the-user"
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.peak_processes = 0
        self.key = ""

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self.listener.close()


def _absent(path_of: Callable[[Any], Path], why: str) -> Callable[[str, Any], str | None]:
    def check(output: str, ctx: Any) -> str | None:
        path = path_of(ctx)
        return f"{why}: {path} exists" if path.exists() else None

    return check


def _no_secret(output: str, ctx: Any) -> str | None:
    leaked = [name for name, value in SECRET_ENV.items() if value in output]
    if "SandboxEscapeProbe" in output or leaked:
        return f"secrets seen: {leaked or 'a probe value'}"
    return None


def _not_read(output: str, ctx: Any) -> str | None:
    return "the file was read" if HOME_SECRET in output or "BEGIN" in output else None


def _all(*checks: Callable[[str, Any], str | None]) -> Callable[[str, Any], str | None]:
    def check(output: str, ctx: Any) -> str | None:
        for one in checks:
            problem = one(output, ctx)
            if problem:
                return problem
        return None

    return check


def _said(*words: str) -> Callable[[str, Any], str | None]:
    def check(output: str, ctx: Any) -> str | None:
        return (
            None
            if any(w in output for w in words)
            else f"no refusal in the output {output[-300:]!r}"
        )

    return check


def _no_connection(output: str, ctx: Any) -> str | None:
    return f"{ctx.accepted} connections reached the host" if ctx.accepted else None


def _bounded(output: str, ctx: Any) -> str | None:
    limit = DEFAULT_MAX_PROCESSES + 64
    if ctx.peak_processes > limit:
        return f"{ctx.peak_processes} processes under the worker at once (limit {limit})"
    return None


def attempts(ctx: _Context) -> list[Attempt]:
    m = ctx.marker
    common = ctx.ws.common_dir
    data = ctx.manager.paths.data_dir
    return [
        Attempt("write to the host /tmp", f"echo pwned > /tmp/{m} && cat /tmp/{m}",
                _absent(lambda c: Path(f"/tmp/{c.marker}"), "written on the host")),
        Attempt("write to /etc", f"echo pwned > /etc/{m}",
                _all(_absent(lambda c: Path(f"/etc/{c.marker}"), "written"), _said("Read-only"))),
        Attempt("write next to the workspace", f"echo pwned > ../{m}; ls ..",
                _absent(lambda c: c.ws.path.parent / c.marker, "written beside the workspace")),
        Attempt("write into the user's home", f"echo pwned > ~/{m}",
                _absent(lambda c: c.home / c.marker, "written in the home")),
        Attempt("write into the repository's git folder", f"echo pwned > {common}/{m}",
                _all(_absent(lambda c: c.ws.common_dir / c.marker, "written"), _said("Read-only"))),
        Attempt("plant a git hook", f"echo 'touch /tmp/{m}-hook' > {common}/hooks/post-commit; "
                f"chmod +x {common}/hooks/post-commit",
                _all(_absent(lambda c: c.ws.common_dir / "hooks" / "post-commit", "hook planted"),
                     _said("Read-only"))),
        Attempt("write into Async Coder's data folder", f"echo pwned > {data}/{m}; ls -a {data}",
                _absent(lambda c: c.manager.paths.data_dir / c.marker, "written in the data dir")),
        Attempt("read the user's private key", "cat ~/.ssh/id_rsa; cat /root/.ssh/id_rsa", _not_read),
        Attempt("read the host's password hashes and SSH host keys",
                "cat /etc/shadow /etc/gshadow /etc/ssh/ssh_host_*_key; echo READ-DONE",
                lambda out, c: "a host secret was read"
                if any(s in out for s in ("root:", "PRIVATE KEY")) else None),
        Attempt("read the token encryption key", f"cat {data}/secret.key; ls -la {data}",
                lambda out, c: "the key file was read" if c.key in out else None),
        Attempt("read the database files", f"ls {data}/pgdata && echo LISTED",
                lambda out, c: "the database folder is visible" if "LISTED" in out else None),
        Attempt("read API keys from the environment", "env; echo; cat /proc/1/environ | tr '\\0' '\\n'",
                _no_secret),
        Attempt("read the worker's environment through /proc",
                "for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null | tr '\\0' '\\n'; done",
                _no_secret),
        Attempt("connect to a service on the host's loopback",
                f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {ctx.port}), 2)\"",
                _all(_no_connection, _said("refused", "Errno"))),
        Attempt("reach the internet", "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), 2)\"",
                _said("unreachable", "Errno")),
        Attempt("kill the worker", f"kill -9 {os.getpid()}; echo status $?",
                _said("No such process", "status 1")),
        Attempt("mount over the workspace", "mount -t tmpfs none /mnt && echo MOUNTED",
                lambda out, c: "mounted" if "MOUNTED" in out else None),
        Attempt("fork without bound",
                "i=0; while [ $i -lt 3000 ]; do (sleep 30 &) 2>/dev/null || { echo refused at $i; break; };"
                " i=$((i+1)); done; echo spawned $i",
                _all(_bounded, _said("refused at")), timeout=60),
        Attempt("fork bomb", "bomb(){ bomb | bomb & }; bomb; sleep 4; echo survived", _bounded, timeout=30),
    ]  # fmt: skip


def _descendants() -> int:
    """Processes below this one: everything a sandboxed command started (other sessions'
    processes on the machine are not counted)."""
    try:
        return len(psutil.Process().children(recursive=True))
    except psutil.Error:
        return 0


async def _sample_processes(ctx: _Context, stop: asyncio.Event, baseline: int) -> None:
    while not stop.is_set():
        count = await asyncio.to_thread(_descendants)
        ctx.peak_processes = max(ctx.peak_processes, count - baseline)
        await asyncio.sleep(0.02)


async def sandbox_escape_round(settings: Settings, workdir: Path) -> EscapeReport:
    report = EscapeReport()
    home = workdir / "home-of-the-user"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN KEY-----\n{HOME_SECRET}\n")
    root = make_repository(workdir / "project")
    (root / ".git" / "hooks").mkdir(exist_ok=True)
    manager = WorkspaceManager.from_settings(settings)
    spec = RepoSpec(kind="local", local_path=str(root), default_branch="main")
    settings.paths.ensure()
    (settings.paths.pgdata).mkdir(exist_ok=True)
    (settings.paths.pgdata / "PG_VERSION").write_text("16\n")
    key_file = settings.paths.key_file
    if not key_file.exists():
        from asynccoder_tui.vcs.secrets import load_key

        load_key(key_file, use_keyring=False)
    with environment(HOME=str(home), **SECRET_ENV):
        ws = await manager.prepare(spec, task_id=uuid.uuid4(), slug="escape")
        runner = await manager.command_runner(ws)
        report.sandbox = "bubblewrap" if runner.sandboxed else "the plain runner (no bubblewrap)"
        if not runner.sandboxed:  # the attempts would really escape (and kill this process)
            report.problems.append("no sandbox here: commands run unisolated; attempts not run")
            await manager.remove(ws, force=True)
            return report
        ctx = _Context(workdir, ws, manager)
        ctx.key = key_file.read_text().strip()
        try:
            for attempt in attempts(ctx):
                stop = asyncio.Event()
                baseline = _descendants()
                ctx.peak_processes = 0
                sampler = asyncio.create_task(_sample_processes(ctx, stop, baseline))
                try:
                    result = await runner.run(attempt.command, cwd=ws.path, timeout=attempt.timeout)
                finally:
                    stop.set()
                    await sampler
                output = result.output
                report.attempts.append((attempt.name, output[-200:]))
                if attempt.name.startswith("fork"):
                    report.fork_peak = max(report.fork_peak, ctx.peak_processes)
                problem = attempt.refused(output, ctx)
                if problem:
                    report.problems.append(f"{attempt.name}: {problem}")
                await _settle(baseline)
        finally:
            ctx.close()
            await manager.remove(ws, force=True)
    return report


async def _settle(baseline: int, wait: float = 10.0) -> None:
    """Wait for what an attempt started to be gone (the sandbox kills it; the kernel reaps)."""
    deadline = time.monotonic() + wait
    while _descendants() > baseline + 5 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
