"""`DiffView`: review a change set hunk by hunk, on the line API.

The view paints only the rows on screen and caches their strips; syntax highlighting runs per
hunk chunk (a few hundred lines) when a chunk first shows, and is cached too. The file list can
arrive before any hunk: rows for an unloaded file say "Loading changes…", and the view posts
`FileHunksNeeded` once for each such file as it nears the screen; `set_file_hunks()` fills it
in without moving what the user is looking at.

The view decides nothing itself: accepting or rejecting a hunk, marking a file reviewed,
commenting and opening an editor are posted as messages for the screen to carry out. The view
shows the optimistic state at once; `set_hunk_rejected()` and `set_file_reviewed()` let the
screen correct it from the database.

Input model: `DiffFile` / `DiffHunk` in `diff_model.py` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip

from asynccoder_tui.tui.widgets import diff_messages
from asynccoder_tui.tui.widgets.diff_model import (
    DiffFile,
    DiffHunk,
    DiffLayout,
    FileLayout,
    Row,
    RowKind,
)
from asynccoder_tui.tui.widgets.diff_navigation import DiffNavigation
from asynccoder_tui.tui.widgets.diff_render import (
    MAX_LINE,
    OVERLAY_STYLES,
    STYLE_NAMES,
    DiffPainter,
    RowState,
    highlight_hunk_lines,
)
from asynccoder_tui.tui.widgets.inert import inert
from asynccoder_tui.tui.widgets.segments import foreground
from asynccoder_tui.tui.widgets.syntax import lexer_for_path, lexer_ready

__all__ = ["DiffFile", "DiffHunk", "DiffView"]

HIGHLIGHT_CHUNK = 100
"""Lines highlighted together; a hunk of 50,000 lines is highlighted a screenful at a time."""


class DiffView(DiffNavigation, can_focus=True):
    """A unified or side-by-side diff of many files with hunk-level review actions."""

    SPLIT_MIN_WIDTH: ClassVar[int] = 160
    """In `auto` layout, side-by-side is used from this width up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, id="diff_view.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="diff_view.up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="diff_view.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="diff_view.page_up"),
        Binding("g,home", "first", "Top", show=False, id="diff_view.top"),
        Binding("G,end", "last", "Bottom", show=False, id="diff_view.bottom"),
        Binding("h,left", "scroll_code(-8)", "Left", show=False, id="diff_view.left"),
        Binding("l,right", "scroll_code(8)", "Right", show=False, id="diff_view.right"),
        Binding("]", "next_hunk", "Next hunk", key_display="]", id="diff_view.next_hunk"),
        Binding("[", "previous_hunk", "Prev hunk", key_display="[", id="diff_view.previous_hunk"),
        Binding("}", "next_file", "Next file", key_display="}", id="diff_view.next_file"),
        Binding("{", "previous_file", "Prev file", key_display="{", id="diff_view.previous_file"),
        Binding("space", "toggle_hunk", "Accept/reject", id="diff_view.toggle_hunk"),
        Binding("m", "toggle_reviewed", "Reviewed", id="diff_view.toggle_reviewed"),
        Binding("enter", "comment", "Comment", id="diff_view.comment"),
        Binding("e", "open_editor", "Editor", id="diff_view.open_editor"),
        Binding("v", "toggle_split", "Split/unified", id="diff_view.toggle_split"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"diff-view--{name}" for name in STYLE_NAMES if name != "base"
    }

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        color: $foreground;
        overflow-x: auto;
        overflow-y: scroll;
        &:focus { background-tint: $foreground 3%; }
        & > .diff-view--file-header { background: $panel; color: $foreground; text-style: bold; }
        & > .diff-view--file-reviewed { color: $success; }
        & > .diff-view--file-review-stale { color: $warning; }
        & > .diff-view--file-rejected { color: $error; }
        & > .diff-view--kind { color: $accent; text-style: bold; }
        & > .diff-view--meta { color: $text-muted; text-style: italic; }
        & > .diff-view--hunk-header { color: $text-secondary; background: $surface; }
        & > .diff-view--hunk-current { color: $text-accent; background: $accent 10%; text-style: bold; }
        & > .diff-view--added { background: $success 15%; }
        & > .diff-view--removed { background: $error 15%; }
        & > .diff-view--added-sign { color: $success; text-style: bold; }
        & > .diff-view--removed-sign { color: $error; text-style: bold; }
        & > .diff-view--line-number { color: $text-muted; }
        & > .diff-view--cursor { background: $accent 45%; color: $text; }
        & > .diff-view--current-bar { color: $accent; }
        & > .diff-view--rejected { color: $text-disabled; text-style: strike; }
        & > .diff-view--empty-side { background: $panel 40%; }
        & > .diff-view--stat-added { color: $success; }
        & > .diff-view--stat-removed { color: $error; }
    }
    """

    layout_mode: reactive[str] = reactive("auto", init=False)
    """`auto` (side by side when wide), `unified` or `split`."""

    FileHunksNeeded = diff_messages.FileHunksNeeded
    HunkDecision = diff_messages.HunkDecision
    FileReviewed = diff_messages.FileReviewed
    HunkCommentRequested = diff_messages.HunkCommentRequested
    OpenInEditor = diff_messages.OpenInEditor

    def __init__(
        self,
        files: Sequence[DiffFile] = (),
        *,
        layout_mode: str = "auto",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._files: list[FileLayout] = []
        self._by_path: dict[str, int] = {}
        self._layout = DiffLayout([], False)
        self._cursor = 0
        self._generation = 0
        self._style_generation = 0
        self._styles: dict[str, Style] | None = None
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)
        self._code: LRUCache[tuple[object, ...], list[Text]] = LRUCache(512)
        self._loading_lexers: set[str] = set()
        self.set_reactive(DiffView.layout_mode, layout_mode)
        self.set_files(files)

    # -- public API -------------------------------------------------------------------------

    @property
    def files(self) -> tuple[DiffFile, ...]:
        return tuple(f.entry for f in self._files)

    @property
    def split(self) -> bool:
        """Whether the view is showing side by side."""
        return self._layout.split

    @property
    def row_count(self) -> int:
        return self._layout.total

    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def current_path(self) -> str | None:
        """Path of the file under the cursor."""
        row = self._layout.row(self._cursor)
        return None if row is None else self._files[row.file_index].entry.path

    @property
    def current_hunk_index(self) -> int | None:
        """Index of the hunk under the cursor (None on a file header or meta line)."""
        row = self._layout.row(self._cursor)
        if row is None or row.kind not in (RowKind.HUNK_HEADER, RowKind.BODY):
            return None
        return row.hunk_index

    def rejected_hunks(self, path: str) -> frozenset[int]:
        return frozenset(self._files[self._by_path[path]].rejected)

    def is_reviewed(self, path: str) -> bool:
        return self._files[self._by_path[path]].reviewed

    def is_review_stale(self, path: str) -> bool:
        return self._files[self._by_path[path]].review_stale

    @property
    def reviewed_count(self) -> int:
        return sum(1 for f in self._files if f.reviewed)

    def is_loaded(self, path: str) -> bool:
        return self._files[self._by_path[path]].hunks is not None

    def set_files(self, files: Sequence[DiffFile]) -> None:
        """Show a new change set (review state starts empty); the cursor goes to the top."""
        self._files = [FileLayout.of(f) for f in files]
        self._by_path = {f.path: i for i, f in enumerate(files)}
        self._code.clear()  # keyed by file position: nothing of the old set may show
        self._strips.clear()
        self._layout = DiffLayout(self._files, self._want_split())
        self._cursor = 0
        self._changed()
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False, immediate=True)
            self.call_after_refresh(self._request_visible)

    def set_file_hunks(self, path: str, hunks: Sequence[DiffHunk]) -> None:
        """Fill in (or replace) one file's hunks, keeping the rows on screen where they are.

        Marks set before the first load stay; replacing loaded hunks clears the file's rejected
        marks (the new hunks are numbered anew), so set them again if some still apply.
        """
        index = self._by_path.get(path)
        if index is None:
            return
        layout = self._layout
        old_end = layout.starts[index + 1]
        self._files[index].set_hunks(hunks)
        self._files[index].requested = True
        delta = layout.refile(index)
        if delta:
            if self._cursor >= old_end:
                self._cursor += delta
            else:
                self._cursor = min(self._cursor, layout.starts[index + 1] - 1)
            if old_end <= self.scroll_offset.y and self.is_mounted:
                self._changed()
                self.scroll_to(y=self.scroll_offset.y + delta, animate=False, immediate=True)
                return
        self._changed()

    def set_hunk_rejected(self, path: str, hunk_index: int, rejected: bool) -> None:
        """Set a hunk's state from outside (no message is posted)."""
        index = self._by_path.get(path)
        if index is None:
            return
        target = self._files[index].rejected
        if rejected:
            target.add(hunk_index)
        else:
            target.discard(hunk_index)
        self._changed()

    def set_file_reviewed(self, path: str, reviewed: bool, *, stale: bool = False) -> None:
        """Set a file's reviewed mark from outside (no message is posted); `stale`: it was
        marked, and has changed since."""
        index = self._by_path.get(path)
        if index is None:
            return
        self._files[index].reviewed = reviewed
        self._files[index].review_stale = stale and not reviewed
        self._changed()

    # -- layout -----------------------------------------------------------------------------

    def _want_split(self) -> bool:
        mode = self.layout_mode
        if mode == "split":
            return True
        if mode == "unified":
            return False
        return self.is_mounted and self.size.width >= self.SPLIT_MIN_WIDTH

    def _changed(self) -> None:
        """The rows changed: drop painted strips, resize the virtual canvas, repaint."""
        self._generation += 1
        longest = max((f.max_text for f in self._files), default=0)
        width = self.scrollable_content_region.width if self.is_mounted else 80
        if self._layout.split:
            code_width = max(1, (width - 2) // 2 - 10)
            virtual_width = width + max(0, min(longest, MAX_LINE) - code_width)
        else:
            virtual_width = max(width, 17 + min(longest, MAX_LINE))
        self.virtual_size = Size(virtual_width, self._layout.total)
        self._cursor = max(0, min(self._cursor, self._layout.total - 1))
        self.refresh()

    def _relayout_split(self) -> None:
        split = self._want_split()
        if split == self._layout.split:
            return
        layout = self._layout
        row = layout.row(self._cursor)
        screen_offset = self._cursor - self.scroll_offset.y
        line = -1
        if row is not None and row.kind == RowKind.BODY:
            hunk = self._files[row.file_index].hunks[row.hunk_index]  # type: ignore[index]
            line = hunk.line_of_pair(row.index) if layout.split else row.index
        layout.set_split(split)
        if row is not None:
            start = layout.starts[row.file_index]
            if row.kind == RowKind.BODY:
                file = self._files[row.file_index]
                hunk = file.hunks[row.hunk_index]  # type: ignore[index]
                index = hunk.pair_of_line(line) if split else line
                self._cursor = start + file.hunk_starts[row.hunk_index] + 1 + index
            elif row.kind == RowKind.SPACER:
                self._cursor = layout.starts[row.file_index + 1] - 1
            elif row.kind == RowKind.HUNK_HEADER:
                self._cursor = layout.hunk_row(row.file_index, row.hunk_index)
        self._changed()
        if self.is_mounted:
            self.scroll_to(y=max(0, self._cursor - screen_offset), animate=False, immediate=True)

    def watch_layout_mode(self) -> None:
        self._relayout_split()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # Choose unified or split before the first frame at this size is painted, not after.
        resized = super()._size_updated(size, virtual_size, container_size, layout)
        if self.layout_mode == "auto" and self._want_split() != self._layout.split:
            self._relayout_split()
        return resized

    def on_resize(self, event: events.Resize) -> None:
        self._relayout_split()
        self._changed()
        self._request_visible()

    def on_mount(self) -> None:
        self._relayout_split()
        self._changed()
        self.call_after_refresh(self._request_visible)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._request_visible()

    def _request_visible(self) -> None:
        """Ask for the hunks of unloaded files on screen or within a screen of it."""
        if not self._files:
            return
        height = max(1, self.size.height)
        top = max(0, int(self.scroll_offset.y) - height)
        first = self._layout.file_at(top)
        last = self._layout.file_at(int(self.scroll_offset.y) + 2 * height)
        for index in range(first, last + 1):
            file = self._files[index]
            if file.hunks is None and not file.requested:
                file.requested = True
                self.post_message(self.FileHunksNeeded(self, file.entry.path))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._style_generation += 1

    # -- painting ---------------------------------------------------------------------------

    def _painter(self, width: int) -> DiffPainter:
        if self._styles is None:
            styles = {
                name: self.get_component_rich_style(f"diff-view--{name}")
                for name in STYLE_NAMES
                if name != "base"
            }
            styles["base"] = self.rich_style
            for name in OVERLAY_STYLES:
                styles[name] = foreground(styles[name])
            self._styles = styles
        return DiffPainter(self.app.console, self._styles, width)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        row_y = scroll_y + y
        row = self._layout.row(row_y)
        if row is None:
            return Strip.blank(width, self.rich_style)
        state = self._row_state(row_y, row)
        key = (
            row_y,
            self._generation,
            self._style_generation,
            width,
            scroll_x,
            state.cursor,
            state.current,
        )
        strip = self._strips.get(key)
        if strip is None:
            strip = self._painter(width).paint(
                row, self._files, self._layout.split, state, scroll_x, self._code_text
            )
            self._strips[key] = strip
        return strip

    def _row_state(self, row_y: int, row: Row) -> RowState:
        cursor = row_y == self._cursor
        current = False
        if row.kind in (RowKind.HUNK_HEADER, RowKind.BODY):
            here = self._layout.row(self._cursor)
            current = (
                here is not None
                and here.kind in (RowKind.HUNK_HEADER, RowKind.BODY)
                and here.file_index == row.file_index
                and here.hunk_index == row.hunk_index
            )
        return RowState(cursor=cursor, current=current)

    def _load_lexer(self, path: str) -> None:
        lexer_for_path(path)
        self._loading_lexers.discard(path)
        self._changed()

    def _code_text(self, file_index: int, hunk_index: int, line_index: int) -> Text:
        chunk = line_index // HIGHLIGHT_CHUNK
        file = self._files[file_index]
        dark = self.app.current_theme.dark
        key = (file_index, file.generation, hunk_index, chunk, dark)
        texts = self._code.get(key)
        if texts is None:
            assert file.hunks is not None
            lines = file.hunks[hunk_index].hunk.lines
            path = file.entry.path
            if not lexer_ready(path):
                # Loading a lexer costs tens of ms: paint plain now, colour in the next frame.
                if path not in self._loading_lexers:
                    self._loading_lexers.add(path)
                    self.call_later(self._load_lexer, path)
                return Text(inert(lines[line_index][1:MAX_LINE]))
            start = chunk * HIGHLIGHT_CHUNK
            texts = highlight_hunk_lines(path, lines[start : start + HIGHLIGHT_CHUNK], dark)
            self._code[key] = texts
        return texts[line_index % HIGHLIGHT_CHUNK]

    def action_toggle_split(self) -> None:
        self.layout_mode = "unified" if self._layout.split else "split"

    # -- review actions ---------------------------------------------------------------------

    def _current(self) -> tuple[FileLayout, int | None] | None:
        """The file under the cursor and its hunk there (None on a header or meta line)."""
        row = self._layout.row(self._cursor)
        if row is None:
            return None
        hunk = row.hunk_index if row.kind in (RowKind.HUNK_HEADER, RowKind.BODY) else None
        return self._files[row.file_index], hunk

    def action_toggle_hunk(self) -> None:
        file, hunk = self._current() or (None, None)
        if file is None or hunk is None:
            self.app.bell()
            return
        rejected = hunk not in file.rejected
        if rejected:
            file.rejected.add(hunk)
        else:
            file.rejected.discard(hunk)
        self._changed()
        self.post_message(self.HunkDecision(self, file.entry.path, hunk, rejected))

    def action_toggle_reviewed(self) -> None:
        current = self._current()
        if current is None:
            return
        file = current[0]
        file.reviewed = not file.reviewed
        file.review_stale = False
        self._changed()
        self.post_message(self.FileReviewed(self, file.entry.path, file.reviewed))

    def action_comment(self) -> None:
        current = self._current()
        if current is None or current[1] is None:
            self.app.bell()
            return
        self.post_message(self.HunkCommentRequested(self, current[0].entry.path, current[1]))

    def action_open_editor(self) -> None:
        current = self._current()
        if current is None:
            return
        file, hunk_index = current
        line: int | None = None
        row = self._layout.row(self._cursor)
        if hunk_index is not None and file.hunks is not None and row is not None:
            hunk = file.hunks[hunk_index]
            line = hunk.hunk.new_start
            if row.kind == RowKind.BODY:
                index = hunk.line_of_pair(row.index) if self._layout.split else row.index
                news = hunk.numbers[1]
                line = next((n for n in news[index:] if n), news[index] or line)
        self.post_message(self.OpenInEditor(self, file.entry.path, line))
