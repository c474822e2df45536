"""Listing and searching a workspace: ripgrep when installed, Python otherwise.

Both honour `.gitignore` (see `ignore.py`), skip `.git`, binary files and anything that is
not a regular file (a FIFO or a device would block a read forever), and cap what they return
with a note saying how much was left out. ripgrep is only a speed-up: results are the same
shape either way, and a pattern ripgrep rejects (look-arounds, back-references) is searched in
Python instead.

A search has a time budget (`SEARCH_SECONDS`). Python's `re` cannot be interrupted and holds
the interpreter lock while it matches, so a pattern that backtracks catastrophically (a model's
`(a+)+$` over a long line) would freeze the whole worker; the Python search therefore matches
with the `regex` module (a dependency of tiktoken), which releases the lock and honours a
timeout, and gives up with a `ToolError` that says why. ripgrep runs under the same budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asynccoder_tui.agent.file_tools import is_binary
from asynccoder_tui.agent.ignore import IgnoreMatcher, translate_glob, walk
from asynccoder_tui.agent.paths import display_path
from asynccoder_tui.domain.errors import ToolError

LIST_MAX_ENTRIES = 1000
SEARCH_MAX_RESULTS = 500
SEARCH_DEFAULT_RESULTS = 100
SEARCH_MAX_FILE_BYTES = 5 * 1024 * 1024
MATCH_MAX_CHARS = 300
SEARCH_SECONDS = 10.0
"""Time budget of one search (ripgrep or Python)."""


def _too_slow(pattern: str) -> ToolError:
    return ToolError(
        f"the search for /{pattern}/ took too long and was stopped: the "
        "pattern may backtrack catastrophically (nested quantifiers such as (a+)+), or the "
        "search is too wide. Simplify the pattern, or narrow it with path or glob"
    )


def compile_pattern(pattern: str, ignore_case: bool) -> Any:
    """The pattern compiled for matching with a timeout (`regex`), else with `re`.

    `re` checks the syntax first, so errors read the same whichever engine matches."""
    try:
        re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except (re.error, RecursionError, OverflowError) as err:
        raise ToolError(f"invalid regular expression {pattern!r}: {err}") from None
    try:
        import regex
    except ImportError:  # pragma: no cover - regex comes with tiktoken
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)
    except (regex.error, RecursionError, OverflowError) as err:
        raise ToolError(f"invalid regular expression {pattern!r}: {err}") from None


def _line_matches(compiled: Any, line: str, deadline: float, pattern: str) -> bool:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow(pattern)
    if isinstance(compiled, re.Pattern):
        return compiled.search(line) is not None
    try:
        return compiled.search(line, concurrent=True, timeout=left) is not None
    except TimeoutError:
        raise _too_slow(pattern) from None


def is_regular(path: Path) -> bool:
    """True for a regular file (following symlinks); False for FIFOs, devices, sockets."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as gitignore reads it: with a '/' it is anchored at the root, else any depth."""
    body = translate_glob(pattern.strip().lstrip("/"))
    if "/" in pattern.strip().strip("/"):
        return re.compile(f"^{body}$")
    return re.compile(f"^(?:.*/)?{body}$")


def list_files(root: Path, start: Path, glob: str | None) -> str:
    """Files under `start` (not ignored), one workspace-relative path a line, capped."""
    if not start.is_dir():
        raise ToolError(f"{display_path(root, start)} is not a directory")
    matcher = IgnoreMatcher(root)
    if matcher.ancestors_ignored(display_path(root, start)) and start != root:
        note = " (note: this directory is ignored by .gitignore)"
    else:
        note = ""
    wanted = glob_regex(glob) if glob else None
    shown: list[str] = []
    total = 0
    for path, _ in walk(root, start, matcher):
        relative = display_path(root, path)
        if wanted is not None and not wanted.match(relative):
            continue
        total += 1
        if len(shown) < LIST_MAX_ENTRIES:
            shown.append(relative)
    where = display_path(root, start)
    if not shown:
        return f"no files under {where}" + (f" matching {glob}" if glob else "") + note
    header = f"{total} files under {where}" + (f" matching {glob}" if glob else "") + note
    if total > len(shown):
        header += f" (showing the first {len(shown)}; narrow with path or glob)"
    return header + "\n" + "\n".join(shown)


def directory_tree(root: Path, start: Path, depth: int = 2, limit: int = 400) -> str:
    """Files and directories up to `depth` levels below `start`, for viewing a directory."""
    matcher = IgnoreMatcher(root)
    lines: list[str] = []
    more = 0
    for path, is_dir in walk(root, start, matcher, include_dirs=True, max_depth=depth):
        if len(lines) >= limit:
            more += 1
            continue
        lines.append(display_path(root, path) + ("/" if is_dir else ""))
    where = display_path(root, start)
    header = f"{where}/ (files and directories up to {depth} levels deep, .gitignore applied)"
    if not lines:
        return f"{where}/ is empty"
    if more:
        lines.append(f"[... {more} more entries not shown: use list_files with a path or glob]")
    return header + "\n" + "\n".join(lines)


@dataclass(frozen=True)
class SearchHit:
    path: str
    line: int
    text: str


def _clip(text: str) -> str:
    text = text.rstrip("\r\n")
    if len(text) > MATCH_MAX_CHARS:
        return text[:MATCH_MAX_CHARS] + " [...]"
    return text


def python_search(
    root: Path,
    start: Path,
    compiled: Any,
    glob: str | None,
    limit: int,
    *,
    pattern: str = "",
    seconds: float | None = None,
) -> tuple[list[SearchHit], bool]:
    """(hits, more) searching line by line with `compiled` (see `compile_pattern`);
    `ToolError` when it takes longer than `seconds` (default `SEARCH_SECONDS`)."""
    deadline = time.monotonic() + (SEARCH_SECONDS if seconds is None else seconds)
    wanted = glob_regex(glob) if glob else None
    hits: list[SearchHit] = []
    targets = [(start, False)] if start.is_file() else walk(root, start)
    for path, _ in targets:
        if time.monotonic() > deadline:
            raise _too_slow(pattern)
        relative = display_path(root, path)
        if wanted is not None and not wanted.match(relative):
            continue
        try:
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue
            info = path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_size > SEARCH_MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except (OSError, RuntimeError):  # unreadable, or a symlink loop (RuntimeError in 3.11)
            continue
        if is_binary(data):
            continue
        text = data.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if _line_matches(compiled, line, deadline, pattern):
                if len(hits) >= limit:
                    return hits, True
                hits.append(SearchHit(relative, number, _clip(line)))
    return hits, False


async def ripgrep_search(
    root: Path, start: Path, pattern: str, glob: str | None, ignore_case: bool, limit: int
) -> tuple[list[SearchHit], bool] | None:
    """(hits, more) from ripgrep, or None when ripgrep is missing or refuses the pattern."""
    rg = shutil.which("rg")
    if rg is None:
        return None
    args = [
        rg, "--line-number", "--no-heading", "--color", "never", "--no-require-git",
        "--hidden", "--glob", "!.git", "--sort", "path", "--no-messages",
        "--max-filesize", str(SEARCH_MAX_FILE_BYTES),
    ]  # fmt: skip
    if ignore_case:
        args.append("--ignore-case")
    if glob:
        args += ["--glob", glob]
    args += ["--regexp", pattern, "--", display_path(root, start)]
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=str(root),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    stdout = process.stdout
    hits: list[SearchHit] = []
    more = False

    async def read() -> bool:
        while raw := await stdout.readline():
            line = raw.decode("utf-8", errors="replace")
            path, sep, rest = line.partition(":")
            number, sep2, text = rest.partition(":")
            if not (sep and sep2 and number.isdigit()):
                continue
            if len(hits) >= limit:
                return True
            relative = path[2:] if path.startswith("./") else path
            hits.append(SearchHit(relative, int(number), _clip(text)))
        return False

    try:
        try:
            more = await asyncio.wait_for(read(), SEARCH_SECONDS)
        except TimeoutError:
            raise _too_slow(pattern) from None
        except ValueError:  # a line past the stream reader's limit: not a sane match line
            more = True
    finally:
        if process.returncode is None:
            # Stopped reading early, or cancelled. `os.kill`, not `process.kill()`: the latter
            # polls first and would reap an exited child behind asyncio's child watcher.
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    if process.returncode == 2 and not hits:
        return None  # a pattern ripgrep cannot parse, or another error: use Python
    return hits, more


async def search(
    root: Path,
    start: Path,
    pattern: str,
    *,
    glob: str | None = None,
    ignore_case: bool = False,
    limit: int = SEARCH_DEFAULT_RESULTS,
    use_ripgrep: bool = True,
) -> str:
    """Lines matching the regular expression `pattern`, as `path:line: text`, capped."""
    if not pattern:
        raise ToolError("pattern is empty")
    compiled = compile_pattern(pattern, ignore_case)
    if not await asyncio.to_thread(start.exists):
        raise ToolError(f"{display_path(root, start)} does not exist")
    if not await asyncio.to_thread(lambda: start.is_dir() or is_regular(start)):
        raise ToolError(
            f"{display_path(root, start)} is not a regular file or folder (a FIFO, device or "
            "socket); it cannot be searched"
        )
    limit = max(1, min(limit, SEARCH_MAX_RESULTS))
    found = None
    if use_ripgrep:
        found = await ripgrep_search(root, start, pattern, glob, ignore_case, limit)
    if found is None:
        found = await asyncio.to_thread(
            python_search, root, start, compiled, glob, limit, pattern=pattern
        )
    hits, more = found
    where = display_path(root, start)
    if not hits:
        return f"no matches for /{pattern}/ under {where}" + (f" in {glob}" if glob else "")
    header = f"matches for /{pattern}/ under {where}" + (f" in {glob}" if glob else "")
    if more:
        header += f" (first {len(hits)} shown; narrow with path or glob, or raise max_results)"
    else:
        header += f" ({len(hits)})"
    return header + "\n" + "\n".join(f"{h.path}:{h.line}: {h.text}" for h in hits)
