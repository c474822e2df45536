"""Workspace setup: copy the repository's ignored files in, then run its setup command.

`copy_files` entries are paths or glob patterns relative to the source folder (the local
repository's checkout, or the repository setting `copy_from`); matches are copied into the
same place in the workspace. Nothing is read from outside the source folder (symlinks that lead
out are skipped) and nothing is written outside the workspace.

The setup command runs through the `CommandRunner` it is given (the sandbox), with its own
timeout; its output goes to a log file outside the worktree, so it never shows in the diff.
Blocking file work runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

from asynccoder_tui.domain.commands import CommandRunner
from asynccoder_tui.domain.errors import WorkspaceError
from asynccoder_tui.vcs.spec import RepoSettings, SetupOutcome

log = logging.getLogger(__name__)

_LOG_OUTPUT_LIMIT = 1_000_000


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def copy_files(patterns: list[str], source: Path, workspace: Path) -> tuple[list[str], list[str]]:
    """Copy what `patterns` match under `source` into `workspace`; (copied, unmatched)."""
    source = source.resolve()
    root = workspace.resolve()
    copied: list[str] = []
    missing: list[str] = []
    for pattern in patterns:
        matches = (
            sorted(source.glob(pattern)) if any(c in pattern for c in "*?[") else [source / pattern]
        )
        found = False
        for match in matches:
            if not match.exists() and not match.is_symlink():
                continue
            real = match.resolve()
            if not _inside(real, source):
                log.warning("copy_files: %s leads outside %s; skipped", match, source)
                continue
            relative = match.relative_to(source)
            if relative.parts and relative.parts[0] == ".git":
                continue
            target = root / relative
            if not _inside(target.parent.resolve(), root):
                log.warning("copy_files: %s would land outside the workspace; skipped", relative)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if real.is_dir():
                shutil.copytree(real, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(real, target, follow_symlinks=True)
            copied.append(relative.as_posix())
            found = True
        if not found:
            missing.append(pattern)
    return copied, missing


async def run_setup(
    settings: RepoSettings,
    *,
    workspace: Path,
    source: Path | None,
    runner: CommandRunner,
    log_path: Path,
) -> SetupOutcome:
    """Copy files and run the setup command; `WorkspaceError` when the command fails."""
    outcome = SetupOutcome(log_path=log_path)
    lines: list[str] = [f"# workspace setup {datetime.now(UTC).isoformat()}"]
    if settings.copy_files:
        if source is None or not await asyncio.to_thread(source.is_dir):
            lines.append(f"# copy_files: no source folder to copy from ({source})")
            outcome.missing = list(settings.copy_files)
        else:
            copied, missing = await asyncio.to_thread(
                copy_files, settings.copy_files, source, workspace
            )
            outcome.copied, outcome.missing = copied, missing
            lines += [f"# copied {item}" for item in copied]
            lines += [f"# not found: {item}" for item in missing]
    command = (settings.setup_command or "").strip()
    output = ""
    if command:
        outcome.command = command
        lines.append(f"$ {command}")
        result = await runner.run(
            command,
            cwd=workspace,
            timeout=settings.setup_timeout,
            output_limit=_LOG_OUTPUT_LIMIT,
        )
        outcome.exit_code = result.exit_code
        outcome.timed_out = result.timed_out
        outcome.duration = result.duration
        output = result.output.rstrip("\n")
        lines.append(output)
        if result.timed_out:
            lines.append(f"# stopped after {settings.setup_timeout} s")
        else:
            lines.append(f"# exit code {result.exit_code}")
    await asyncio.to_thread(_write_log, log_path, "\n".join(lines) + "\n")
    if command and (outcome.timed_out or outcome.exit_code != 0):
        tail = "\n".join(output.splitlines()[-8:]) or "(no output)"
        why = (
            f"did not finish within {settings.setup_timeout} s"
            if outcome.timed_out
            else f"exited with code {outcome.exit_code}"
        )
        raise WorkspaceError(
            f"the setup command {command!r} {why}:\n{tail}",
            hint=f"see the full log at {log_path}; fix the repository's setup_command",
        )
    return outcome


def _write_log(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(text, encoding="utf-8", errors="replace")
