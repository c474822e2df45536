"""Bench: open a 100,000-changed-line diff (2,000 files) through the workspace diff model.

Builds a GitHub-like bare origin in a temporary directory, prepares a real task workspace from
it with `WorkspaceManager`, and changes 50 lines (25 removed, 25 added) in each of 2,000 files.
Then it times, in back-to-back pairs (the median of several):

- the reference: `git diff <base>` printing the whole diff (to a pipe), in the same workspace;
- ours, what the diff pane needs for its first screen: `diff_files` (every changed file, no
  line counts) plus `file_hunks` of the first file(s) until a screen of hunk lines is filled;
- for information, `diff_stats` (every file's +/- counts, which fill in after the first screen).

    python -m bench.diff_open [--files 2000] [--runs 9]

Target: first screen at most 0.3 of `git diff`'s time (we must not read what is not on screen).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asynccoder_tui.config import Paths
from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.vcs.spec import RepoSpec, Workspace
from asynccoder_tui.vcs.workspace import WorkspaceManager

LINES_PER_FILE = 100
CHANGED_PER_FILE = 25  # each changed line is one removal and one addition
SCREEN_LINES = 60
TARGET = 0.3
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


def build_origin(root: Path, files: int) -> Path:
    origin = root / "origin.git"
    seed = root / "seed"
    git(root, "init", "-q", "--bare", str(origin))
    git(root, "init", "-q", str(seed))
    for i in range(files):
        path = seed / file_path(i)
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            "".join(f"value_{i}_{j} = compute({j}, {i})\n" for j in range(LINES_PER_FILE))
        )
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "base")
    git(seed, "push", "-q", str(origin), "HEAD:refs/heads/main")
    return origin


def change_files(ws: Workspace, files: int) -> None:
    step = LINES_PER_FILE // CHANGED_PER_FILE
    for i in range(files):
        path = ws.path / file_path(i)
        lines = path.read_text().splitlines(keepends=True)
        for j in range(0, LINES_PER_FILE, step):
            lines[j] = lines[j].replace("compute(", "recompute(")
        path.write_text("".join(lines))


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def paired(
    runs: int, reference: Callable[[], Awaitable[object]], ours: Callable[[], Awaitable[object]]
) -> tuple[float, float, float]:
    """Median reference time, median time of ours, and the median of per-pair ratios.

    Each run times the reference and ours back to back, so a burst of load on a shared
    machine hits both sides of a pair rather than skewing the ratio.
    """
    refs, mine, ratios = [], [], []
    for _ in range(runs):
        ref = await timed(reference)
        own = await timed(ours)
        refs.append(ref)
        mine.append(own)
        ratios.append(own / ref)
    return statistics.median(refs), statistics.median(mine), statistics.median(ratios)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="asynccoder-bench-") as tmp:
        root = Path(tmp)
        origin = build_origin(root, args.files)
        home = root / "home"
        paths = Paths(
            config_dir=home / "config", data_dir=home / "data", cache_dir=home / "cache",
            state_dir=home / "state", log_dir=home / "state" / "log",
        )  # fmt: skip
        paths.ensure()
        manager = WorkspaceManager(paths, sandbox="none")
        spec = RepoSpec(kind=RepoKind.GITHUB, clone_url=f"file://{origin}", full_name="bench/big")
        ws = await manager.prepare(spec, task_id="bench", slug="big diff")
        change_files(ws, args.files)

        async def reference() -> bytes:
            proc = await asyncio.create_subprocess_exec(
                "git", "-c", "core.pager=cat", "diff", ws.base_sha,
                cwd=ws.path, env=GIT_ENV, stdout=subprocess.PIPE,
            )  # fmt: skip
            out, _ = await proc.communicate()
            return out

        full = await reference()
        changed = sum(
            1 for line in full.splitlines()
            if line[:1] in (b"+", b"-") and line[:3] not in (b"+++", b"---")
        )  # fmt: skip

        shown: list[int] = []

        async def first_screen() -> None:
            files = await manager.diff_files(ws)
            lines = 0
            for change in files:
                diff = await manager.file_hunks(ws, change)
                lines += sum(len(h.lines) + 1 for h in diff.hunks)
                if lines >= SCREEN_LINES:
                    break
            shown[:] = [len(files), lines]

        async def stats() -> None:
            await manager.diff_stats(ws)

        await first_screen()  # warm caches equally for both sides
        git_seconds, ours, ratio = await paired(args.runs, reference, first_screen)
        _, stats_seconds, stats_ratio = await paired(args.runs, reference, stats)

    ms = 1000
    ref = f"git diff {git_seconds * ms:.1f} ms"
    print(f"# {changed:,} changed lines in {shown[0]:,} files; first screen: {shown[1]} lines")
    print(f"diff_open.git_diff: {git_seconds * ms:.1f} ms (ratio 1.00 vs {ref})")
    print(f"diff_open.first_screen: {ours * ms:.1f} ms (ratio {ratio:.2f} vs {ref})")
    print(f"diff_open.all_stats: {stats_seconds * ms:.1f} ms (ratio {stats_ratio:.2f} vs {ref})")
    print(f"# target: first_screen ratio <= {TARGET} ({'met' if ratio <= TARGET else 'MISSED'})")
    if ratio > TARGET:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
