"""DiffView: hunk and file navigation, review messages, split view, lazy loading, inert text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from textual import on
from textual.app import App, ComposeResult
from textual.message import Message

from asynccoder_tui.tui.theme import register_themes
from asynccoder_tui.tui.widgets import diff_view as diff_view_module
from asynccoder_tui.tui.widgets.diff_view import DiffFile, DiffHunk, DiffView
from asynccoder_tui.tui.widgets.inert import inert

STYLES = Path(__file__).resolve().parents[2] / "styles" / "widgets.tcss"


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


def hunk(old_start: int, new_start: int, body: list[str], context: str = "") -> DiffHunk:
    olds = sum(1 for line in body if line[:1] in " -")
    news = sum(1 for line in body if line[:1] in " +")
    header = f"@@ -{old_start},{olds} +{new_start},{news} @@ {context}".rstrip()
    return DiffHunk(header, old_start, new_start, body)


def python_hunk(n: int) -> DiffHunk:
    return hunk(
        10 * n + 1,
        10 * n + 1,
        [
            f" def handler_{n}(request):",
            '-    return {"status": "ok"}',
            '+    payload = {"status": "ok", "id": request.id}',
            "+    return payload",
            "     # unchanged tail",
        ],
        f"class Api{n}:",
    )


def sample_files() -> list[DiffFile]:
    return [
        DiffFile("src/api.py", added=4, removed=2, hunks=[python_hunk(0), python_hunk(1)]),
        DiffFile(
            "src/old_name.py",
            kind="renamed",
            old_path="src/util.py",
            added=1,
            removed=1,
            hunks=[hunk(3, 3, [" import os", "-X = 1", "+X = 2"])],
        ),
        DiffFile("assets/logo.png", kind="added", binary=True, hunks=[]),
        DiffFile("bin/run.sh", old_mode="100644", new_mode="100755", hunks=[]),
        DiffFile(
            "README.md",
            added=1,
            removed=0,
            hunks=[hunk(1, 1, [" # Title", "+New line", "\\ No newline at end of file"])],
        ),
    ]


def big_files(count: int, lines_per_file: int, loaded: bool = True) -> list[DiffFile]:
    body = [f"+    value_{k} = compute({k})" for k in range(lines_per_file)]
    files = []
    for i in range(count):
        hunks = [DiffHunk(f"@@ -0,0 +1,{lines_per_file} @@", 0, 1, body)] if loaded else None
        files.append(DiffFile(f"pkg/module_{i}.py", added=lines_per_file, hunks=hunks))
    return files


class DiffHost(App[None]):
    CSS_PATH = [str(STYLES)]

    def __init__(self, files: list[DiffFile], layout_mode: str = "auto", theme: str = "") -> None:
        super().__init__()
        self.files = files
        self.layout_mode = layout_mode
        self.messages: list[Message] = []
        register_themes(self)
        if theme:
            self.theme = theme

    def compose(self) -> ComposeResult:
        yield DiffView(self.files, layout_mode=self.layout_mode)

    def on_mount(self) -> None:
        self.query_one(DiffView).focus()

    @on(DiffView.FileHunksNeeded)
    @on(DiffView.HunkDecision)
    @on(DiffView.FileReviewed)
    @on(DiffView.HunkCommentRequested)
    @on(DiffView.OpenInEditor)
    def record(self, message: Message) -> None:
        self.messages.append(message)

    def of(self, kind: type[Message]) -> list[Any]:
        return [m for m in self.messages if isinstance(m, kind)]


def screen_text(view: DiffView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


# -- navigation -------------------------------------------------------------------------------


async def test_hunk_and_file_keys_walk_the_diff_in_order() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        assert (view.current_path, view.current_hunk_index) == ("src/api.py", None)

        await pilot.press("]")
        assert (view.current_path, view.current_hunk_index) == ("src/api.py", 0)
        await pilot.press("]")
        assert (view.current_path, view.current_hunk_index) == ("src/api.py", 1)
        await pilot.press("]")
        assert (view.current_path, view.current_hunk_index) == ("src/old_name.py", 0)
        await pilot.press("[")
        assert (view.current_path, view.current_hunk_index) == ("src/api.py", 1)

        await pilot.press("}")
        assert view.current_path == "src/old_name.py" and view.current_hunk_index is None
        await pilot.press("}", "}")
        assert view.current_path == "bin/run.sh"
        await pilot.press("{")
        assert view.current_path == "assets/logo.png"
        # inside a file, `{` first goes to that file's own header
        await pilot.press("j", "{")
        assert view.current_path == "assets/logo.png"
        assert "assets/logo.png" in view.render_line(view.cursor_row - view.scroll_offset.y).text

        await pilot.press("G")
        assert view.cursor_row == view.row_count - 1
        await pilot.press("g")
        assert view.cursor_row == 0
        await pilot.press("j", "j", "k")
        assert view.cursor_row == 1


async def test_page_down_scrolls_a_screen_and_keeps_the_cursor_visible() -> None:
    app = DiffHost(big_files(20, 30))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        height = view.scrollable_content_region.height
        await pilot.press("pagedown")
        assert view.scroll_offset.y == height - 1
        assert view.scroll_offset.y <= view.cursor_row < view.scroll_offset.y + height
        await pilot.press("pageup")
        assert view.scroll_offset.y == 0


async def test_next_hunk_scrolls_the_hunk_into_view() -> None:
    app = DiffHost(big_files(10, 40))
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        for _ in range(6):
            await pilot.press("]")
        assert view.current_path == "pkg/module_5.py" and view.current_hunk_index == 0
        top = view.scroll_offset.y
        assert top <= view.cursor_row < top + view.scrollable_content_region.height
        assert "@@ -0,0 +1,40 @@" in view.render_line(view.cursor_row - top).text


async def test_click_moves_the_cursor_and_long_lines_scroll_sideways() -> None:
    long = "+" + "x = 1; " * 40 + "END"
    files = [DiffFile("src/long.py", added=1, hunks=[hunk(1, 1, [" start", long])])]
    app = DiffHost(files)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        await pilot.click(DiffView, offset=(10, 3))
        assert view.cursor_row == 3 and view.current_hunk_index == 0
        assert "END" not in view.render_line(3).text
        for _ in range(30):
            await pilot.press("l")
        assert view.scroll_offset.x > 0
        assert "END" in view.render_line(3).text
        assert view.render_line(0).text.startswith(" M  src/long.py")  # headers stay put


# -- review actions ---------------------------------------------------------------------------


async def test_space_rejects_then_accepts_the_current_hunk() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        await pilot.press("space")  # on a file header: nothing to decide
        assert app.of(DiffView.HunkDecision) == []

        await pilot.press("]", "]", "j", "space")
        decisions = app.of(DiffView.HunkDecision)
        assert [(d.path, d.hunk_index, d.rejected) for d in decisions] == [("src/api.py", 1, True)]
        assert view.rejected_hunks("src/api.py") == {1}
        shown = "\n".join(screen_text(view))
        assert "✗ rejected" in shown and "✗ 1 rejected" in shown

        await pilot.press("space")
        assert app.of(DiffView.HunkDecision)[-1].rejected is False
        assert view.rejected_hunks("src/api.py") == frozenset()


async def test_mark_reviewed_comment_and_editor_messages() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        await pilot.press("m")
        assert [(m.path, m.reviewed) for m in app.of(DiffView.FileReviewed)] == [
            ("src/api.py", True)
        ]
        assert view.is_reviewed("src/api.py")
        assert "✓ reviewed" in view.render_line(0).text

        await pilot.press("enter")  # on the header: no hunk to comment on
        assert app.of(DiffView.HunkCommentRequested) == []
        await pilot.press("]", "]", "enter")
        comment = app.of(DiffView.HunkCommentRequested)
        assert [(c.path, c.hunk_index) for c in comment] == [("src/api.py", 1)]

        # cursor on the added line "+    payload = ..." of hunk 2 (new line 12)
        await pilot.press("j", "j", "j", "e")
        (editor,) = app.of(DiffView.OpenInEditor)
        assert (editor.path, editor.line) == ("src/api.py", 12)

        await pilot.press("m")
        assert app.of(DiffView.FileReviewed)[-1].reviewed is False


async def test_state_set_from_outside_shows_without_messages() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        view.set_hunk_rejected("src/api.py", 0, True)
        view.set_file_reviewed("src/api.py", True)
        await pilot.pause()
        assert app.messages == []
        assert "✓ reviewed" in view.render_line(0).text
        assert "✗ rejected" in view.render_line(1).text


async def test_marks_survive_the_first_load_but_not_a_reread() -> None:
    files = big_files(2, 4, loaded=False)
    app = DiffHost(files)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        view.set_hunk_rejected("pkg/module_0.py", 0, True)  # known from the database
        body = [f"+line {k}" for k in range(4)]
        view.set_file_hunks("pkg/module_0.py", [DiffHunk("@@ -0,0 +1,4 @@", 0, 1, body)])
        await pilot.pause()
        assert view.rejected_hunks("pkg/module_0.py") == {0}
        view.set_file_hunks("pkg/module_0.py", [DiffHunk("@@ -0,0 +1,4 @@", 0, 1, body)])
        assert view.rejected_hunks("pkg/module_0.py") == frozenset()


async def test_a_new_change_set_never_shows_the_old_one() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(DiffView)
        assert any("payload" in line for line in screen_text(view))
        replacement = [
            DiffFile(
                "src/api.py", added=1, hunks=[hunk(1, 1, [" def handler_0(request):", "+    pass"])]
            )
        ]
        view.set_files(replacement)
        await pilot.pause()
        shown = "\n".join(screen_text(view))
        assert "payload" not in shown and "+     pass" in shown


# -- layout -----------------------------------------------------------------------------------


async def test_split_view_when_wide_and_v_toggles() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(170, 40)) as pilot:
        view = app.query_one(DiffView)
        assert view.split
        row = next(line for line in screen_text(view) if "payload" in line)
        assert "│" in row and 'return {"status": "ok"}' in row  # old and new side by side

        await pilot.press("v")
        assert not view.split
        assert all("│" not in line for line in screen_text(view))
        await pilot.press("v")
        assert view.split


async def test_narrow_is_unified_and_v_forces_split_keeping_the_cursor_on_its_line() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        assert not view.split
        await pilot.press("]", "j", "j", "j", "j")  # the second added line of hunk 1
        await pilot.press("v")
        assert view.split and view.current_hunk_index == 0
        line = view.render_line(view.cursor_row - view.scroll_offset.y).text
        assert "return payload" in line
        await pilot.press("v")
        assert not view.split
        assert "return payload" in view.render_line(view.cursor_row - view.scroll_offset.y).text


async def test_binary_and_mode_changes_are_one_line_each() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 40)):
        view = app.query_one(DiffView)
        shown = screen_text(view)
        logo = next(i for i, line in enumerate(shown) if "assets/logo.png" in line)
        assert "binary" in shown[logo]
        assert shown[logo + 1].strip() == "Binary file changed"
        assert shown[logo + 2].strip() == ""
        run = next(i for i, line in enumerate(shown) if "bin/run.sh" in line)
        assert shown[run + 1].strip() == "Mode changed 100644 → 100755"
        assert "src/util.py → src/old_name.py" in "\n".join(shown)
        assert "No newline at end of file" in "\n".join(shown)


async def test_switching_theme_repaints_in_the_new_colours() -> None:
    app = DiffHost(sample_files())
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.query_one(DiffView)
        dark = [segment.style for segment in view.render_line(3)]
        app.theme = "textual-light"
        await pilot.pause()
        light = [segment.style for segment in view.render_line(3)]
        assert dark != light


async def test_code_is_highlighted_for_the_file_language() -> None:
    body = [" fn main() {", '-    let name = "old";', '+    let name = "new"; // renamed', " }"]
    files = [DiffFile("src/main.rs", added=1, removed=1, hunks=[hunk(1, 1, body)])]
    app = DiffHost(files)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        await pilot.pause()
        await pilot.pause()
        row = next(y for y in range(10) if "renamed" in view.render_line(y).text)
        colours = {segment.style.color for segment in view.render_line(row) if segment.style}
        assert len(colours) >= 4  # numbers, sign, keyword, string, comment…


# -- lazy loading -----------------------------------------------------------------------------


async def test_unloaded_files_are_requested_as_they_near_the_screen() -> None:
    files = big_files(300, 10, loaded=False)
    app = DiffHost(files)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(DiffView)
        await pilot.pause()
        asked = [m.path for m in app.of(DiffView.FileHunksNeeded)]
        assert asked and asked[0] == "pkg/module_0.py"
        assert "pkg/module_299.py" not in asked
        assert len(asked) < 40
        assert "Loading changes…" in view.render_line(1).text

        body = [f"+line {k}" for k in range(10)]
        view.set_file_hunks("pkg/module_0.py", [DiffHunk("@@ -0,0 +1,10 @@", 0, 1, body)])
        await pilot.pause()
        assert view.is_loaded("pkg/module_0.py")
        assert "@@ -0,0 +1,10 @@" in view.render_line(1).text
        assert "line 0" in view.render_line(2).text

        await pilot.press("G")
        await pilot.pause()
        asked = [m.path for m in app.of(DiffView.FileHunksNeeded)]
        assert "pkg/module_299.py" in asked
        assert len(asked) == len(set(asked))  # each file asked for once


async def test_loading_a_file_above_the_screen_keeps_the_view_still() -> None:
    files = big_files(100, 10, loaded=False)
    app = DiffHost(files)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(DiffView)
        await pilot.press("G")
        await pilot.pause()
        before = screen_text(view)
        cursor_text = view.render_line(view.cursor_row - view.scroll_offset.y).text
        body = [f"+line {k}" for k in range(10)]
        view.set_file_hunks("pkg/module_0.py", [DiffHunk("@@ -0,0 +1,10 @@", 0, 1, body)])
        await pilot.pause()
        assert screen_text(view) == before
        assert view.render_line(view.cursor_row - view.scroll_offset.y).text == cursor_text


async def test_a_100000_line_diff_opens_without_highlighting_it_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    highlighted: list[int] = []
    real = diff_view_module.highlight_hunk_lines

    def counting(path: str, lines: Any, dark: bool) -> Any:
        highlighted.append(len(lines))
        return real(path, lines, dark)

    monkeypatch.setattr(diff_view_module, "highlight_hunk_lines", counting)
    files = big_files(2000, 50)
    app = DiffHost([])
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiffView)
        view.set_files(files)
        await pilot.pause()
        # Opening at once is about work, not seconds (bench/diff_view.py times it).
        assert view.row_count > 100_000
        assert 0 < sum(highlighted) < 500  # a screenful of hunks, not the diff

        await pilot.press("pagedown", "pagedown")
        await pilot.press("G")
        assert view.current_path == "pkg/module_1999.py"
        assert sum(highlighted) < 1000


# -- inert text -------------------------------------------------------------------------------


def test_inert_shows_controls_instead_of_obeying_them() -> None:
    assert inert("plain [bold]text[/]") == "plain [bold]text[/]"
    assert inert("a\x1b[2Jb") == "a␛[2Jb"
    assert inert("\x1b]0;title\x07") == "␛]0;title␇"
    assert inert("tab\there") == "tab here"
    assert inert("x\r\ny\x7f\x9b") == "x␍␊y␡\ufffd"
    assert inert("if admin\u202e ;") == "if admin<U+202E> ;"


async def test_repository_text_reaches_the_screen_inert() -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\x9b\u202e"
    files = [
        DiffFile(
            f"src/{evil}.py",
            added=1,
            removed=1,
            hunks=[hunk(1, 1, [f" ctx {evil}", f"-old {evil}", f"+new [bold]{evil}[/]"], evil)],
        )
    ]
    for layout_mode in ("unified", "split"):
        app = DiffHost(files, layout_mode=layout_mode)
        async with app.run_test(size=(170, 20)):
            view = app.query_one(DiffView)
            for y in range(view.scrollable_content_region.height):
                for segment in view.render_line(y):
                    assert not any(
                        ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e"
                        for c in segment.text
                    ), repr(segment.text)
            shown = "\n".join(screen_text(view))
            assert "␛[2J" in shown and "[bold]" in shown


# -- bindings ---------------------------------------------------------------------------------


def test_every_binding_has_an_id_and_a_description() -> None:
    for binding in DiffView.BINDINGS:
        assert not isinstance(binding, tuple)
        assert binding.id and binding.id.startswith("diff_view.")
        assert binding.description


# -- snapshots --------------------------------------------------------------------------------


def test_snapshot_unified(snap_compare: Any) -> None:
    async def review(pilot: Any) -> None:
        await pilot.press("]", "]", "space", "m")

    app = DiffHost(sample_files(), theme="asynccoder")
    assert snap_compare(app, terminal_size=(120, 40), run_before=review)


def test_snapshot_split(snap_compare: Any) -> None:
    async def move(pilot: Any) -> None:
        await pilot.press("]", "j", "j")

    app = DiffHost(sample_files(), theme="asynccoder")
    assert snap_compare(app, terminal_size=(170, 30), run_before=move)


def test_snapshot_loading(snap_compare: Any) -> None:
    files = big_files(3, 4, loaded=False)
    files[1] = big_files(2, 4)[1]
    assert snap_compare(DiffHost(files), terminal_size=(100, 20))
