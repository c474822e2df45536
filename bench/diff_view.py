"""Bench: open a 100,000-line diff (2,000 files) in the diff view, headless.

Builds a real git repository in a temporary directory with the diff of `bench/diff_open.py`
(100,000 changed lines over 2,000 files), times `git diff` itself (the reference), parses its
output into the view's
model, then mounts a `DiffView` with every hunk loaded in a headless app and times the first
painted frame (plain text if the file's lexer still has to load), the first highlighted frame
and page-down; a second pass under `tracemalloc` measures peak memory of the
model plus the view.

    python -m bench.diff_view [--files 2000]

Targets: first frame under 0.5 of `git diff`'s time; peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip

from asynccoder_tui.tui.widgets.diff_view import DiffFile, DiffHunk, DiffView
from asynccoder_tui.tui.widgets.syntax import lexer_ready

# The shape of bench/diff_open.py: 2,000 files of 100 lines, every fourth line changed, so
# 100,000 changed lines (50,000 removed, 50,000 added) in one long hunk per file.
LINES_PER_FILE = 100
CHANGED_PER_FILE = 25
FIRST_FRAME_TARGET = 0.5
MEMORY_BUDGET_MB = 300
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, env=GIT_ENV, check=True, capture_output=True,
    ).stdout  # fmt: skip


def file_path(i: int) -> str:
    return f"pkg{i % 40:02d}/module_{i:04d}.py"


def build_repository(root: Path, files: int) -> None:
    """A repository with `files` Python files committed, then changed in the working tree."""
    root.mkdir(parents=True)
    git(root, "init", "-q")
    for i in range(files):
        path = root / file_path(i)
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            "".join(f"value_{i}_{j} = compute({j}, {i})\n" for j in range(LINES_PER_FILE))
        )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    step = LINES_PER_FILE // CHANGED_PER_FILE
    for i in range(files):
        path = root / file_path(i)
        lines = path.read_text().splitlines(keepends=True)
        for j in range(0, LINES_PER_FILE, step):
            lines[j] = lines[j].replace("compute(", "recompute(")
        path.write_text("".join(lines))


def time_git_diff(root: Path, runs: int = 5) -> tuple[float, bytes]:
    times = []
    output = b""
    for _ in range(runs):
        start = time.perf_counter()
        output = git(root, "-c", "core.pager=cat", "diff", "--no-color", "HEAD")
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


def parse_diff(output: bytes) -> list[DiffFile]:
    """The view's model from `git diff` output (what the services layer hands the view)."""
    from asynccoder_tui.vcs.diff import parse_file_patch

    files: list[DiffFile] = []
    chunks = output.split(b"\ndiff --git ")
    for number, chunk in enumerate(chunks):
        patch = chunk if number == 0 else b"diff --git " + chunk
        first = patch.split(b"\n", 1)[0].decode()
        path = first.rsplit(" b/", 1)[-1]
        diff = parse_file_patch(patch.rstrip(b"\n") + b"\n", path)
        hunks = [DiffHunk(h.header, h.old_start, h.new_start, h.lines) for h in diff.hunks]
        files.append(
            DiffFile(
                path,
                added=sum(h.added for h in diff.hunks),
                removed=sum(h.removed for h in diff.hunks),
                hunks=hunks,
            )
        )
    return files


class Host(App[None]):
    def compose(self) -> ComposeResult:
        return iter(())


class TimedDiffView(DiffView):
    """Records when each frame of the view finished painting."""

    painted: list[float]

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        self.painted.append(time.perf_counter())
        return strips


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        if condition():
            return
        if time.perf_counter() > deadline:
            raise TimeoutError("the view never got there")
        await asyncio.sleep(0.0005)


async def _until_painted(view: TimedDiffView, count: int) -> float:
    """When frame number `count` (from 0) of the view finished painting."""
    await _until(lambda: len(view.painted) > count)
    return view.painted[count]


async def open_and_page(files: list[DiffFile], pages: int) -> tuple[float, float, float]:
    """(first frame, first highlighted frame, median page-down) seconds, headless 160x50."""
    app = Host()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        view = TimedDiffView(files)
        view.painted = []
        start = time.perf_counter()
        await app.screen.mount(view)
        view.focus()
        first = await _until_painted(view, 0) - start
        # The first frame may be plain while the file's lexer loads; colours follow.
        await _until(lambda: lexer_ready(files[0].path))
        coloured = await _until_painted(view, len(view.painted)) - start
        await pilot.pause()
        times = []
        for _ in range(pages):
            count = len(view.painted)
            start = time.perf_counter()
            await pilot.press("pagedown")
            times.append(await _until_painted(view, count) - start)
        return first, coloured, statistics.median(times)


async def open_for_memory(output: bytes) -> int:
    tracemalloc.start()
    files = parse_diff(output)
    app = Host()
    async with app.run_test(size=(160, 50)) as pilot:
        view = DiffView(files)
        await app.screen.mount(view)
        view.focus()
        await pilot.pause()
        for _ in range(20):
            await pilot.press("pagedown")
        await pilot.press("G")
        await pilot.pause()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asynccoder-bench-diff-") as tmp:
        root = Path(tmp) / "repo"
        build_repository(root, args.files)
        git_seconds, output = time_git_diff(root)
    start = time.perf_counter()
    files = parse_diff(output)
    parse_seconds = time.perf_counter() - start
    lines = sum(len(h.lines) for f in files for h in f.hunks or ())
    changed = sum(1 for f in files for h in f.hunks or () for line in h.lines if line[:1] in "+-")
    gc.collect()
    first, coloured, page = asyncio.run(open_and_page(files, args.pages))
    del files
    gc.collect()
    peak = asyncio.run(open_for_memory(output))
    ms = 1000
    ref = f"git diff {git_seconds * ms:.1f} ms"
    print(
        f"# {len(output.splitlines()):,} diff lines, {lines:,} hunk lines, {changed:,} changed,"
        f" {args.files:,} files"
    )
    print(f"diff_view.git_diff: {git_seconds * ms:.1f} ms (ratio 1.00 vs {ref})")
    print(
        f"diff_view.parse: {parse_seconds * ms:.1f} ms (ratio {parse_seconds / git_seconds:.2f} vs {ref})"
    )
    print(f"diff_view.first_frame: {first * ms:.1f} ms (ratio {first / git_seconds:.2f} vs {ref})")
    print(
        f"diff_view.highlighted_frame: {coloured * ms:.1f} ms"
        f" (ratio {coloured / git_seconds:.2f} vs {ref})"
    )
    print(f"diff_view.page_down: {page * ms:.1f} ms (ratio {page / git_seconds:.2f} vs {ref})")
    mb = peak / 2**20
    print(
        f"diff_view.peak_memory: {mb:.1f} MB (ratio {mb / MEMORY_BUDGET_MB:.2f} vs budget {MEMORY_BUDGET_MB} MB)"
    )
    met = first / git_seconds < FIRST_FRAME_TARGET and mb < MEMORY_BUDGET_MB
    print(
        f"# targets: first frame < {FIRST_FRAME_TARGET} of git diff, memory < {MEMORY_BUDGET_MB} MB: {'met' if met else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
