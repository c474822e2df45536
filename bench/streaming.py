"""Bench: the transcript receiving 2,000 tokens a second, headless.

A producer appends one `text_delta` event per token (the worst case: the real bus delivers
coalesced deltas), in 10 ms batches, with a tool call and its result every two seconds and a
Markdown mix of paragraphs, lists and code blocks. A monitor task measures event-loop lag (how
late a 5 ms sleep wakes up). The reference is the same monitor on the same app with the view
idle, measured first in the same run. A frame is counted as dropped for every 1/60 s the loop
was late beyond one frame.

    python -m bench.streaming [--seconds 30] [--rate 2000] [--gc-freeze]

`--gc-freeze` calls `gc.freeze()` before the app starts, as an app may do once its imports are
done: most dropped frames are full (generation 2) garbage collections of the whole heap.

Target: p99 lag under 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip

from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.models import TaskEvent
from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

FRAME = 1 / 60
TICK = 0.010
MONITOR_INTERVAL = 0.005

WORDS = (
    "the agent reads the parser module and finds that the tokenizer drops the last "
    "character when a line ends without a newline so it adds a test first"
).split()


def token_stream() -> object:
    """Endless tokens of Markdown-ish text: paragraphs, list items, headings, code blocks."""
    n = 0
    while True:
        n += 1
        block = n % 7
        if block == 0:
            yield "\n## Step " + str(n) + "\n\n"
        elif block == 3:
            yield "\n```python\n"
            for k in range(6):
                yield f"def check_{n}_{k}(value):\n"
                yield "    return value\n"
            yield "```\n\n"
        elif block == 5:
            for k in range(4):
                yield f"- item {k}: "
                for w in WORDS[:8]:
                    yield w + " "
                yield "\n"
            yield "\n"
        for w in WORDS:
            yield w + " "
        yield "\n\n"


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield TimedTranscript(id="transcript")


class TimedTranscript(TranscriptView):
    frames = 0

    def render_lines(self, crop: Region) -> list[Strip]:
        TimedTranscript.frames += 1
        return super().render_lines(crop)


async def monitor(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(MONITOR_INTERVAL)
        samples.append(max(0.0, loop.time() - start - MONITOR_INTERVAL))


async def produce(view: TranscriptView, seconds: float, rate: int) -> int:
    task = uuid.uuid4()
    tokens = iter(token_stream())  # type: ignore[call-overload]
    seq = 0
    sent = 0
    loop = asyncio.get_running_loop()
    start = loop.time()
    next_tool = 2.0
    while (now := loop.time()) - start < seconds:
        due = int((now - start) * rate)
        batch = []
        while sent < due:
            seq += 1
            sent += 1
            batch.append(
                TaskEvent(
                    id=seq,
                    task_id=task,
                    seq=seq,
                    kind=EventKind.TEXT_DELTA,
                    payload={"text": next(tokens)},
                )
            )
        if now - start >= next_tool:
            next_tool += 2.0
            call = f"call-{seq}"
            seq += 1
            batch.append(
                TaskEvent(
                    id=seq,
                    task_id=task,
                    seq=seq,
                    kind=EventKind.TOOL_CALL,
                    payload={
                        "id": call,
                        "name": "read_file",
                        "arguments": {"path": "src/parser.py"},
                    },
                )
            )
            seq += 1
            batch.append(
                TaskEvent(
                    id=seq,
                    task_id=task,
                    seq=seq,
                    kind=EventKind.TOOL_RESULT,
                    payload={"id": call, "output": "x = 1\n" * 500},
                )
            )
        if batch:
            view.append_events(batch)
        await asyncio.sleep(TICK)
    return sent


def summarise(samples: list[float]) -> tuple[float, float, int]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)] if ordered else 0.0
    dropped = sum(int(lag // FRAME) for lag in samples)
    return p99, statistics.fmean(samples) if samples else 0.0, dropped


async def run(seconds: float, rate: int) -> None:
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(TimedTranscript)
        idle: list[float] = []
        stop = asyncio.Event()
        watcher = asyncio.create_task(monitor(idle, stop))
        await asyncio.sleep(min(5.0, max(1.0, seconds / 3)))
        stop.set()
        await watcher

        busy: list[float] = []
        stop = asyncio.Event()
        TimedTranscript.frames = 0
        watcher = asyncio.create_task(monitor(busy, stop))
        started = time.perf_counter()
        sent = await produce(view, seconds, rate)
        await pilot.pause()
        elapsed = time.perf_counter() - started
        stop.set()
        await watcher
        frames = TimedTranscript.frames
        rows = view.row_count

    idle_p99, _idle_mean, _ = summarise(idle)
    p99, mean, dropped = summarise(busy)
    slots = int(elapsed / FRAME)
    print(
        f"# {sent:,} tokens in {elapsed:.1f} s ({sent / elapsed:,.0f}/s), {rows:,} rows, {frames:,} frames painted ({frames / elapsed:.0f}/s)"
    )
    print(
        f"streaming.p99_lag: {p99 * 1000:.1f} ms (ratio {p99 / max(idle_p99, 1e-4):.2f} vs idle p99 {idle_p99 * 1000:.1f} ms)"
    )
    print(
        f"streaming.p99_lag_budget: {p99 * 1000:.1f} ms (ratio {p99 / 0.030:.2f} vs target 30 ms)"
    )
    print(
        f"streaming.mean_lag: {mean * 1000:.2f} ms (ratio {mean / max(statistics.fmean(idle), 1e-4):.2f} vs idle mean {statistics.fmean(idle) * 1000:.2f} ms)"
    )
    print(
        f"streaming.dropped_frames: {dropped} frames (ratio {dropped / max(slots, 1):.3f} vs {slots:,} frame slots)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=2000, help="tokens per second")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() before starting")
    args = parser.parse_args()
    if args.gc_freeze:
        gc.freeze()
    asyncio.run(run(args.seconds, args.rate))


if __name__ == "__main__":
    main()
