"""Bench: open a 100,000-line diff (2,000 files) in the diff view, headless.

Builds a real git repository in a temporary directory whose `git diff` is about 100,000 lines
over 2,000 files, times `git diff` itself (the reference), parses its output into the view's
model, then mounts a `DiffView` with every hunk loaded in a headless app and times the first
painted frame and page-down; a second pass under `tracemalloc` measures peak memory of the
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip

from asynccoder_tui.tui.widgets.diff_view import DiffFile, DiffHunk, DiffView

LINES_PER_FILE = 60
HUNKS_PER_FILE = 3


def _base_line(i: int, j: int) -> str:
    return f"    value_{j} = compute({i}, {j}, scale=0.{j % 10})  # step {j} of module {i}\n"


def build_repository(root: Path, files: int) -> None:
    """A repository with `files` Python files committed, then edited in three places each."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    for i in range(files):
        path = root / f"pkg{i // 100}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = [f"def function_{i}(compute):\n"] + [_base_line(i, j) for j in range(LINES_PER_FILE)]
        path.write_text("".join(body))
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "base"], check=True, env=env)
    for i in range(files):
        path = root / f"pkg{i // 100}" / f"module_{i}.py"
        lines = path.read_text().splitlines(keepends=True)
        for h in range(HUNKS_PER_FILE):
            at = 5 + h * 20
            new = [f"    changed_{at + k} = transform({i}, {k}, 'hunk {h}')\n" for k in range(5)]
            lines[at : at + 4] = new
        path.write_text("".join(lines))


def time_git_diff(root: Path, runs: int = 5) -> tuple[float, bytes]:
    times = []
    output = b""
    for _ in range(runs):
        start = time.perf_counter()
        output = subprocess.run(
            ["git", "-C", str(root), "diff", "--no-color", "--no-ext-diff"],
            check=True,
            capture_output=True,
        ).stdout
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


async def _until_painted(view: TimedDiffView, count: int, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while len(view.painted) <= count:
        if time.perf_counter() > deadline:
            raise TimeoutError("the view never painted")
        await asyncio.sleep(0.0005)
    return view.painted[count]


async def open_and_page(files: list[DiffFile], pages: int) -> tuple[float, float]:
    """(first frame seconds, median page-down seconds) of a headless 160x50 app."""
    app = Host()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        view = TimedDiffView(files)
        view.painted = []
        start = time.perf_counter()
        await app.screen.mount(view)
        view.focus()
        first = await _until_painted(view, 0) - start
        await pilot.pause()
        times = []
        for _ in range(pages):
            count = len(view.painted)
            start = time.perf_counter()
            await pilot.press("pagedown")
            times.append(await _until_painted(view, count) - start)
        return first, statistics.median(times)


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
    gc.collect()
    first, page = asyncio.run(open_and_page(files, args.pages))
    del files
    gc.collect()
    peak = asyncio.run(open_for_memory(output))
    ms = 1000
    print(
        f"# {len(output.splitlines()):,} diff lines ({lines:,} hunk lines) in {args.files:,} files"
    )
    print(
        f"diff_view.git_diff: {git_seconds * ms:.1f} ms (ratio 1.00 vs git diff {git_seconds * ms:.1f} ms)"
    )
    print(
        f"diff_view.parse: {parse_seconds * ms:.1f} ms (ratio {parse_seconds / git_seconds:.2f} vs git diff {git_seconds * ms:.1f} ms)"
    )
    print(
        f"diff_view.first_frame: {first * ms:.1f} ms (ratio {first / git_seconds:.2f} vs git diff {git_seconds * ms:.1f} ms)"
    )
    print(
        f"diff_view.page_down: {page * ms:.1f} ms (ratio {page / git_seconds:.2f} vs git diff {git_seconds * ms:.1f} ms)"
    )
    print(
        f"diff_view.peak_memory: {peak / 2**20:.1f} MB (ratio {peak / 2**20 / 300:.2f} vs budget 300 MB)"
    )


if __name__ == "__main__":
    main()
