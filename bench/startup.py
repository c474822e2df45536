"""Bench: process start to the first painted frame of `asynccoder`, against a bare Textual app.

Each measurement is a new Python process, run headless (Textual's headless driver, chosen with
`TEXTUAL_DRIVER`): the time from just before the process is spawned to the first frame the app
composes for its screen (for `asynccoder`, the main screen with its panes). The reference is a
bare Textual app showing one label, measured in the same run, alternating with ours. Two
warm-up runs of each come first, so both start with their files in the page cache and their
bytecode compiled (into a cache of the run's own, whatever PYTHONDONTWRITEBYTECODE says).

The embedded database is created and migrated first and kept running, as it is on a machine
that has run Async Coder before; the app connects to it only after the first frame anyway. It
is stopped at the end. Also checked: no provider SDK (`anthropic`, `openai`) is imported
before the first frame.

    python -m bench.startup [--runs 9]

Target: ratio 1.3 or lower.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADLESS = "textual.drivers.headless_driver:HeadlessDriver"
NOT_PASSED = {"DATABASE_URL", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"}


def child(mode: str, out: str) -> None:
    """Run in the measured process: start the app, report the first frame, quit."""
    from textual.app import App

    original = App._display
    done = False

    def first_frame(self: App[object], screen: object, renderable: object) -> None:
        nonlocal done
        original(self, screen, renderable)  # type: ignore[arg-type]
        wanted = mode == "bare" or type(screen).__name__ == "MainScreen"
        if renderable is not None and wanted and not done:
            done = True
            Path(out).write_text(
                json.dumps(
                    {
                        "time": time.time(),
                        "sdks": sorted(m for m in ("anthropic", "openai") if m in sys.modules),
                    }
                )
            )
            self.exit(0)

    App._display = first_frame  # type: ignore[method-assign]
    if mode == "bare":
        from textual.app import ComposeResult
        from textual.widgets import Label

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Label("Hello")

        Bare().run()
    else:
        from asynccoder_tui.cli import main

        main([])


def measure(mode: str, env: dict[str, str]) -> tuple[float, list[str]]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    try:
        start = time.time()
        # As a module from the repository root: run as a script, bench/ would lead sys.path and
        # bench/queue.py would shadow the standard library's queue module.
        subprocess.run(
            [sys.executable, "-m", "bench.startup", "--child", mode, out],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        data = json.loads(Path(out).read_text())
        return data["time"] - start, data["sdks"]
    finally:
        Path(out).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        child(*args.child)
        return

    with tempfile.TemporaryDirectory(prefix="asynccoder-bench-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k not in NOT_PASSED},
            # Bytecode is written (to a cache of this run), as for any installed program: with
            # PYTHONDONTWRITEBYTECODE set, each run would compile every module edited since
            # its last cached bytecode, measuring the edits rather than the start-up.
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            "ASYNCCODER_HOME": str(Path(tmp) / "home"),
            "ASYNCCODER_CONFIG": str(Path(tmp) / "config.toml"),
            "ASYNCCODER_KEEP_DB_RUNNING": "true",
            "ASYNCCODER_WORKER_CONCURRENCY": "0",
            "TEXTUAL_DRIVER": HEADLESS,
            "PYTHONPATH": str(ROOT),
        }
        cli = [sys.executable, "-m", "asynccoder_tui"]
        subprocess.run([*cli, "db", "migrate"], env=env, check=True, capture_output=True)
        try:
            ours: list[float] = []
            bare: list[float] = []
            sdks: set[str] = set()
            for _ in range(2):  # warm the file and bytecode caches for both
                measure("bare", env)
                measure("asynccoder", env)
            for _ in range(args.runs):
                bare.append(measure("bare", env)[0])
                took, imported = measure("asynccoder", env)
                ours.append(took)
                sdks.update(imported)
        finally:
            subprocess.run([*cli, "db", "stop", "--force"], env=env, capture_output=True)
    reference = statistics.median(bare)
    median = statistics.median(ours)
    print(f"bare_textual_first_frame: {reference * 1000:.0f} ms (reference)")
    print(
        f"asynccoder_first_frame: {median * 1000:.0f} ms "
        f"(ratio {median / reference:.2f} vs bare_textual_first_frame)"
    )
    print(f"provider_sdks_before_first_frame: {len(sdks)} ({', '.join(sorted(sdks)) or 'none'})")


if __name__ == "__main__":
    main()
