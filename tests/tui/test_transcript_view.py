"""TranscriptView: merged streaming, Markdown-ish text, tool calls, following, coalescing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from textual.app import App, ComposeResult

from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.models import TaskEvent
from asynccoder_tui.tui.theme import register_themes
from asynccoder_tui.tui.widgets import transcript_render
from asynccoder_tui.tui.widgets.markdown_lines import wrap_starts
from asynccoder_tui.tui.widgets.transcript_model import TOOL_OUTPUT_MAX_LINES, ItemKind
from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

STYLES = Path(__file__).resolve().parents[2] / "styles" / "widgets.tcss"
TASK = uuid.UUID("00000000-0000-0000-0000-000000000001")


# -- snapshots live in tests/tui/snapshots/<module>/ ------------------------------------------


class _SnapshotsHere(pytest_textual_snapshot.SVGImageExtension):
    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        path = Path(test_location.filepath)
        return str(path.parent / "snapshots" / path.stem)


class _Pinned:
    """Keeps our extension when the plugin switches the assertion to its own."""

    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot.use_extension(_SnapshotsHere)

    def use_extension(self, _extension: Any) -> Any:
        return self._snapshot


@pytest.fixture
def snap_compare(snapshot: Any, request: pytest.FixtureRequest) -> Any:
    compare = pytest_textual_snapshot.snap_compare.__wrapped__  # type: ignore[attr-defined]
    return compare(_Pinned(snapshot), request)


# -- data -------------------------------------------------------------------------------------


class Events:
    """Builds events with increasing ids."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, payload: Any = None, **fields: Any) -> TaskEvent:
        self.seq += 1
        body = fields if payload is None else payload
        return TaskEvent(
            id=self.seq, task_id=TASK, seq=self.seq, kind=EventKind(kind), payload=body
        )

    def stream(self, text: str, size: int = 3) -> list[TaskEvent]:
        return [self("text_delta", text=text[i : i + size]) for i in range(0, len(text), size)]


ANSWER = (
    "# Plan\n"
    "\n"
    "I will **fix** the `tokenizer` so the last character survives:\n"
    "\n"
    "- read `src/parser.py`\n"
    "- add a test\n"
    "1. run the suite\n"
    "\n"
    "```python\n"
    "def last(text):\n"
    "    return text[-1]\n"
    "```\n"
    "> Note: see [the docs](https://example.com/docs).\n"
)


def conversation(ev: Events) -> list[TaskEvent]:
    return [
        ev("message", role="user", text="Fix the tokenizer: it drops the last character."),
        *ev.stream(ANSWER),
        ev("tool_call", id="c1", name="read_file", arguments={"path": "src/parser.py", "start": 1}),
        ev("tool_result", id="c1", output="def tokenize(text):\n    return text[:-1]\n"),
        ev("tool_call", id="c2", name="run_command", arguments='{"command": "pytest -q"}'),
        ev("tool_result", id="c2", output="1 failed", is_error=True),
        ev("retry", attempt=2, delay=4, reason="rate limited (429)"),
        ev("usage", input_tokens=12345, output_tokens=678, cost="0.0421"),
        ev("status", status="completed", detail="2 files changed"),
        ev("error", message="push rejected: branch is protected"),
        ev("review_comment", path="src/parser.py", hunk_index=0, text="Keep the old name."),
    ]


class TranscriptHost(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, events: list[TaskEvent], theme: str = "") -> None:
        super().__init__()
        self.events = events
        register_themes(self)
        if theme:
            self.theme = theme

    def compose(self) -> ComposeResult:
        yield TranscriptView(self.events)

    def on_mount(self) -> None:
        self.query_one(TranscriptView).focus()


def rows(view: TranscriptView) -> list[str]:
    return [view.render_line(y).text.rstrip() for y in range(view.scrollable_content_region.height)]


def all_rows(view: TranscriptView) -> list[str]:
    """Every row of the transcript (scrolls through it)."""
    height = view.scrollable_content_region.height
    out: list[str] = []
    for top in range(0, view.row_count, height):
        view.scroll_to(y=top, animate=False, immediate=True)
        offset = int(view.scroll_offset.y)
        out.extend(
            view.render_line(y).text.rstrip()
            for y in range(top - offset, min(height, view.row_count - offset))
        )
    return out


# -- content ----------------------------------------------------------------------------------


async def test_streamed_deltas_merge_into_one_markdown_message() -> None:
    ev = Events()
    app = TranscriptHost(conversation(ev))
    async with app.run_test(size=(100, 50)):
        view = app.query_one(TranscriptView)
        roles = [item.style for item in view.items if item.kind == ItemKind.ROLE]
        assert roles == ["user", "assistant"]
        shown = rows(view)
        text = "\n".join(shown)
        assert "▍ You" in text and "▍ Assistant" in text
        assert "  Plan" in shown  # heading without its marker
        assert "I will fix the tokenizer so the last character survives:" in text
        assert "    • read src/parser.py" in shown and "    1. run the suite" in shown
        assert any("╶─ python" in row for row in shown)
        assert "        return text[-1]" in shown  # code keeps its indentation
        assert "```" not in text and "**" not in text
        assert "  ▎ Note: see the docs." in shown


async def test_tool_calls_notices_and_errors_in_words() -> None:
    ev = Events()
    app = TranscriptHost(conversation(ev))
    async with app.run_test(size=(100, 50)):
        view = app.query_one(TranscriptView)
        text = "\n".join(rows(view))
        assert "▸ ⚙ read_file(path='src/parser.py', start=1)  ✓" in text
        assert "▸ ⚙ run_command(command='pytest -q')  ✗ error" in text
        assert "def tokenize" not in text  # results stay collapsed
        assert "↻ Retrying (attempt 2) in 4.0 s: rate limited (429)" in text
        assert "Σ Usage: 12,345 input · 678 output tokens · $0.0421" in text
        assert "● Status: completed — 2 files changed" in text
        assert "✗ Error: push rejected: branch is protected" in text
        assert "✎ Review comment on src/parser.py (hunk 1): Keep the old name." in text


async def test_a_running_tool_shows_until_its_result_arrives() -> None:
    ev = Events()
    app = TranscriptHost([ev("tool_call", id="c9", name="search", arguments={"q": "x"})])
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        assert rows(view)[0].endswith("search(q='x')  …")
        view.append_events([ev("tool_result", id="c9", output="3 matches")])
        await pilot.pause(0.1)
        assert rows(view)[0].endswith("search(q='x')  ✓")


async def test_a_tool_the_run_ended_during_is_not_left_running() -> None:
    """Cancelled while a command ran, the run never records the tool's result: once the task
    is cancelled the call shows as stopped, not as running for ever."""
    ev = Events()
    app = TranscriptHost([ev("tool_call", id="c1", name="run", arguments={"command": "sleep 5"})])
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        assert rows(view)[0].endswith("run(command='sleep 5')  …")
        view.append_events([ev("status", {"status": "cancelling"})])
        await pilot.pause(0.1)
        assert rows(view)[0].endswith("…")  # still running until the run has ended
        view.append_events([ev("status", {"status": "cancelled", "detail": "by its owner"})])
        await pilot.pause(0.1)
        assert rows(view)[0].endswith("run(command='sleep 5')  ⊘ stopped")


async def test_odd_payloads_are_tolerated() -> None:
    ev = Events()
    events = [
        ev("message", {}),
        ev("text_delta", text=None),
        ev("text_delta", {"text": 42}),
        ev("tool_call", {"name": None, "arguments": ["a", 1]}),
        ev("tool_result", {"id": "nope", "output": {"rows": [1, 2]}}),
        ev("usage", {"input_tokens": "lots", "cost": "n/a"}),
        ev("retry", {"delay": "soon"}),
        ev("status", {}),
        ev("error", {}),
    ]
    app = TranscriptHost(events)
    async with app.run_test(size=(80, 30)) as pilot:
        view = app.query_one(TranscriptView)
        text = "\n".join(rows(view))
        assert "42" in text
        assert "⚙ tool(" in text and "⚙ result" in text
        assert "Σ Usage: lots input · ? output tokens · n/a" in text
        assert "↻ Retrying" in text and "● Status: unknown" in text
        assert "✗ Error: unknown error" in text
        await pilot.press("]", "]", "enter")
        assert '{"rows": [1, 2]}' in "\n".join(rows(view))


# -- tool expansion ---------------------------------------------------------------------------


async def test_enter_expands_a_tool_result_and_caps_long_output() -> None:
    ev = Events()
    long_output = "\n".join(f"line {n}" for n in range(1000))
    events = [
        ev("tool_call", id="c1", name="run_command", arguments={"command": "seq 1000"}),
        ev("tool_result", id="c1", output=long_output),
    ]
    app = TranscriptHost(events)
    async with app.run_test(size=(80, 30)) as pilot:
        view = app.query_one(TranscriptView)
        collapsed = view.row_count
        await pilot.press("enter")  # no cursor: the last tool call on screen
        tool = view.tool("c1")
        assert tool is not None and tool.expanded and view.cursor_row == 0
        await pilot.press("enter")
        assert not tool.expanded and view.row_count == collapsed

        await pilot.press("[", "enter")
        assert tool is not None and tool.expanded
        assert view.row_count > collapsed
        shown = all_rows(view)
        assert shown[0].startswith("▾ ⚙ run_command")
        assert "    line 0" in shown and f"    line {TOOL_OUTPUT_MAX_LINES - 1}" in shown
        assert f"    line {TOOL_OUTPUT_MAX_LINES}" not in shown
        assert any("output truncated: 800 more lines" in row for row in shown)

        await pilot.press("g", "[")
        await pilot.press("enter")
        assert not tool.expanded and view.row_count == collapsed


async def test_clicking_a_tool_line_toggles_it() -> None:
    ev = Events()
    events = [
        ev("tool_call", id="c1", name="read_file", arguments={"path": "a.py"}),
        ev("tool_result", id="c1", output="print('hi')"),
    ]
    app = TranscriptHost(events)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        await pilot.click(TranscriptView, offset=(5, 0))
        assert "    print('hi')" in rows(view)
        await pilot.click(TranscriptView, offset=(5, 0))
        assert "    print('hi')" not in rows(view)


# -- following the bottom ---------------------------------------------------------------------


async def test_follows_the_bottom_until_the_user_scrolls_up() -> None:
    ev = Events()
    app = TranscriptHost(conversation(ev) * 1)
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        view.append_events([ev("status", status=f"step {n}") for n in range(40)])
        await pilot.pause(0.1)
        assert view.following and view.scroll_offset.y == view.max_scroll_y > 0
        assert rows(view)[-1] == "● Status: step 39"

        await pilot.press("pageup")
        assert not view.following
        top = view.scroll_offset.y
        view.append_events([ev("status", status="later")])
        await pilot.pause(0.1)
        assert view.scroll_offset.y == top
        assert view.new_below
        assert "new activity below" in rows(view)[-1]

        await pilot.press("G")
        assert view.following and not view.new_below
        assert view.scroll_offset.y == view.max_scroll_y
        assert rows(view)[-1] == "● Status: later"

        view.append_events(ev.stream("more text\n" * 30))
        await pilot.pause(0.1)
        assert view.scroll_offset.y == view.max_scroll_y
        assert rows(view)[-1] == "  more text"


async def test_scrolling_back_to_the_end_resumes_following() -> None:
    ev = Events()
    app = TranscriptHost([ev("status", status=f"s{n}") for n in range(60)])
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        await pilot.press("k", "k")  # a cursor, still at the bottom
        assert view.following and view.cursor_row is not None
        await pilot.press("home")
        assert not view.following and view.scroll_offset.y == 0
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        assert view.following


async def test_resizing_rewraps_and_keeps_the_view_where_it_was() -> None:
    ev = Events()
    paragraph = "A long sentence that wraps differently at every width of the terminal. " * 3
    events = [ev("message", role="assistant", text=f"{n}: {paragraph}") for n in range(30)]
    app = TranscriptHost(events)
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(TranscriptView)
        wide_rows = view.row_count
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert view.row_count > wide_rows
        assert view.following and view.scroll_offset.y == view.max_scroll_y
        assert rows(view)[-1].startswith("  ") and rows(view)[-1].strip()

        shown = all_rows(view)
        header = next(i for i, row in enumerate(shown) if row.startswith("  12:")) - 1
        view.scroll_to(y=header, animate=False, immediate=True)
        await pilot.pause()
        assert not view.following
        assert rows(view)[:2] == ["▍ Assistant", shown[header + 1]]
        await pilot.resize_terminal(90, 20)
        await pilot.pause()
        assert not view.following
        assert rows(view)[0] == "▍ Assistant" and rows(view)[1].startswith("  12:")


# -- live updates -----------------------------------------------------------------------------


async def test_bursts_are_coalesced_into_few_layout_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    ev = Events()
    app = TranscriptHost([])
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        flushes: list[int] = []
        real_flush = view.flush

        def counting_flush() -> None:
            flushes.append(view.pending_count)
            real_flush()

        monkeypatch.setattr(view, "flush", counting_flush)
        words = ev.stream("word " * 2000, size=5)
        for event in words:  # 2,000 single-token appends
            view.append_events([event])
        assert view.pending_count == 2000  # nothing applied yet
        await pilot.pause(0.2)
        assert view.pending_count == 0 and len(flushes) <= 2
        assert view.event_count == 2000
        roles = [item for item in view.items if item.kind == ItemKind.ROLE]
        assert len(roles) == 1  # one message, however the deltas arrived


async def test_set_events_replaces_the_transcript() -> None:
    ev = Events()
    app = TranscriptHost(conversation(ev))
    async with app.run_test(size=(80, 20)) as pilot:
        view = app.query_one(TranscriptView)
        view.set_events([ev("message", role="user", text="Only this")])
        await pilot.pause()
        assert view.row_count == 2
        assert rows(view)[:2] == ["▍ You", "  Only this"]


async def test_a_10000_event_transcript_opens_painting_only_what_shows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    painted: list[int] = []
    real = transcript_render.TranscriptPainter.paint

    def counting(self: Any, item: Any) -> Any:
        painted.append(1)
        return real(self, item)

    monkeypatch.setattr(transcript_render.TranscriptPainter, "paint", counting)
    ev = Events()
    events: list[TaskEvent] = []
    for n in range(2500):
        events.extend(ev.stream(f"Step {n}: reading the **module** `m{n}.py` now.\n", size=12))
        events.append(ev("tool_call", id=f"c{n}", name="read_file", arguments={"path": f"m{n}.py"}))
        events.append(ev("tool_result", id=f"c{n}", output="x = 1\n" * 20))
    events = events[:10_000]
    app = TranscriptHost([])
    async with app.run_test(size=(100, 40)) as pilot:
        view = app.query_one(TranscriptView)
        view.set_events(events)
        await pilot.pause()
        # Opening at once is about work, not seconds (bench/streaming.py times it): only the
        # rows on screen are painted, whatever the transcript's length.
        assert view.event_count == 10_000
        assert view.scroll_offset.y == view.max_scroll_y
        assert len(painted) < 100
        await pilot.press("g")
        assert rows(view)[0] == "▍ Assistant"


async def test_a_huge_streamed_line_is_cut_with_a_note() -> None:
    ev = Events()
    app = TranscriptHost(ev.stream("y" * 50_000, size=5_000))
    async with app.run_test(size=(100, 20)):
        view = app.query_one(TranscriptView)
        assert "40,000 more characters not shown" in "\n".join(all_rows(view))


# -- inert text -------------------------------------------------------------------------------


async def test_model_and_tool_text_reach_the_screen_inert() -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\x9b\u202e[bold]x[/]"
    ev = Events()
    events = [
        ev("message", role="user", text=f"hi {evil}"),
        *ev.stream(f"# {evil}\n- {evil}\n```\n{evil}\n```\n"),
        ev("tool_call", id="c1", name=evil, arguments={"cmd": evil}),
        ev("tool_result", id="c1", output=evil),
        ev("error", message=evil),
    ]
    app = TranscriptHost(events)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(TranscriptView)
        await pilot.press("]", "enter")
        for y in range(view.scrollable_content_region.height):
            for segment in view.render_line(y):
                assert not any(
                    ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in segment.text
                ), repr(segment.text)
        text = "\n".join(rows(view))
        assert "␛[2J" in text and "[bold]x[/]" in text


def test_wrapping_breaks_at_spaces_and_splits_long_words() -> None:
    text = "alpha beta gamma delta"
    starts = wrap_starts(text, 11)
    assert [text[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)] == [
        "alpha beta",
        "gamma delta",
    ]
    assert wrap_starts("x" * 25, 10) == [0, 10, 20]
    assert wrap_starts("日本語のテキスト", 6) == [0, 3, 6]


def test_every_binding_has_an_id_and_a_description() -> None:
    for binding in TranscriptView.BINDINGS:
        assert not isinstance(binding, tuple)
        assert binding.id and binding.id.startswith("transcript_view.")
        assert binding.description


# -- snapshots --------------------------------------------------------------------------------


def test_snapshot_conversation(snap_compare: Any) -> None:
    app = TranscriptHost(conversation(Events()), theme="asynccoder")
    assert snap_compare(app, terminal_size=(120, 40))


def test_snapshot_expanded_tool(snap_compare: Any) -> None:
    app = TranscriptHost(conversation(Events()), theme="asynccoder")
    assert snap_compare(app, terminal_size=(120, 40), press=["[", "[", "enter"])


def test_snapshot_new_below_hint(snap_compare: Any) -> None:
    ev = Events()
    app = TranscriptHost(
        [*conversation(ev), *[ev("status", status=f"step {n}") for n in range(30)]]
    )

    async def scroll_up_then_stream(pilot: Any) -> None:
        await pilot.press("pageup")
        app.query_one(TranscriptView).append_events([ev("status", status="new")])
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(120, 30), run_before=scroll_up_then_stream)


def test_a_status_with_a_long_summary_shows_its_first_line() -> None:
    """A planner's summary carries its whole plan as JSON: the status line shows the first
    line of it, not every line joined with ␊ (the finish call holds the whole summary)."""
    from asynccoder_tui.tui.widgets.transcript_model import notice_text

    plan = 'A plan.\n\n```json\n{\n "subtasks": [\n  {"title": "One way"}\n ]\n}\n```'
    line = notice_text("status", {"status": "completed", "detail": plan})
    assert line == "● Status: completed — A plan. …"
    one = notice_text("status", {"status": "completed", "detail": "Wrote the files."})
    assert one == "● Status: completed — Wrote the files."
    blank_first = notice_text("status", {"status": "failed", "detail": "\n  boom\nmore"})
    assert blank_first == "● Status: failed — boom …"
