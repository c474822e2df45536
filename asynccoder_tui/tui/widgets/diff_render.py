"""Turning one row of the diff layout into a `Strip`.

`DiffPainter` knows the styles (read from the widget's component classes) and how each kind of
row looks: file header, meta line, hunk header, and a body line in unified or side-by-side form.
It paints exactly one row per call and caches nothing; the view caches the strips and the
highlighted code. Every string from the repository passes through `inert()` (the highlighter
does it for code) before it reaches a `Text`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from asynccoder_tui.tui.widgets.diff_model import FileLayout, HunkLayout, Row, RowKind
from asynccoder_tui.tui.widgets.inert import inert
from asynccoder_tui.tui.widgets.segments import text_segments
from asynccoder_tui.tui.widgets.syntax import highlight_lines, lexer_for_path, syntax_colors

MAX_LINE = 4000
"""Characters of a line kept for display; minified files would otherwise stall a frame."""

CodeLookup = Callable[[int, int, int], Text]
"""(file index, hunk index, line index) → the line's highlighted code."""


def highlight_hunk_lines(path: str, lines: Sequence[str], dark: bool) -> list[Text]:
    """Highlighted code of each diff line (sign removed); the old and new sides lexed apart.

    Removed lines are lexed with the context around them, added lines likewise, so a string
    or comment that spans lines colours each side as it reads in its own version of the file.
    """
    texts = [Text(inert(line[1:MAX_LINE])) for line in lines]
    lexer = lexer_for_path(path)
    if lexer is None:
        return texts
    colors = syntax_colors(dark)
    for side in ("+", "-"):
        picked = [i for i, line in enumerate(lines) if line[:1] in (" ", side)]
        if not any(lines[i][:1] == side for i in picked) and side == "-":
            continue
        lexed = highlight_lines(lexer, [lines[i][1:MAX_LINE] for i in picked], colors)
        for i, text in zip(picked, lexed, strict=True):
            if side == "+" or lines[i][:1] == "-":
                texts[i] = text
    return texts


KIND_LETTERS = {
    "added": "A",
    "deleted": "D",
    "modified": "M",
    "renamed": "R",
    "copied": "C",
    "type_changed": "T",
}

STYLE_NAMES = (
    "base",
    "file-header",
    "file-reviewed",
    "file-review-stale",
    "file-rejected",
    "kind",
    "meta",
    "hunk-header",
    "hunk-current",
    "added",
    "removed",
    "added-sign",
    "removed-sign",
    "line-number",
    "cursor",
    "current-bar",
    "rejected",
    "empty-side",
    "stat-added",
    "stat-removed",
)

OVERLAY_STYLES = (
    "added-sign",
    "removed-sign",
    "line-number",
    "current-bar",
    "kind",
    "stat-added",
    "stat-removed",
    "file-reviewed",
    "file-review-stale",
    "file-rejected",
)
"""Styles laid over a row's own style: only their colour and attributes count."""


@dataclass(slots=True)
class RowState:
    """How a row is decorated beyond its content."""

    cursor: bool = False
    current: bool = False
    """The row belongs to the hunk under the cursor."""


class DiffPainter:
    """Paints rows; `styles` maps each name of `STYLE_NAMES` to a Rich style."""

    def __init__(self, console: Console, styles: dict[str, Style], width: int) -> None:
        self.console = console
        self.styles = styles
        self.width = max(1, width)

    # -- pieces -----------------------------------------------------------------------------

    def _line(self, text: Text, style: Style) -> Strip:
        segments = text_segments(text, self.console)
        return Strip(segments).crop_extend(0, self.width, style)

    def _with_cursor(self, strip: Strip, state: RowState) -> Strip:
        if not state.cursor:
            return strip
        return Strip(Segment.apply_style(list(strip), post_style=self.styles["cursor"]))

    def _bar(self, state: RowState) -> Segment:
        if state.current:
            return Segment("▎", self.styles["current-bar"])
        return Segment(" ", self.styles["base"])

    # -- rows -------------------------------------------------------------------------------

    def paint(
        self,
        row: Row,
        files: Sequence[FileLayout],
        split: bool,
        state: RowState,
        scroll_x: int,
        code: CodeLookup,
    ) -> Strip:
        """The strip of any row of the layout."""
        file = files[row.file_index]
        if row.kind == RowKind.FILE_HEADER:
            return self.file_header(file, row.file_index, len(files), state)
        if row.kind == RowKind.META:
            return self.meta(file.meta[row.index], state)
        if row.kind == RowKind.SPACER:
            return self.blank()
        if row.kind == RowKind.HUNK_HEADER:
            return self.hunk_header(file, row.hunk_index, state)
        if not split:
            text = code(row.file_index, row.hunk_index, row.index)
            return self.unified_body(file, row.hunk_index, row.index, text, scroll_x, state)
        assert file.hunks is not None
        left, right = file.hunks[row.hunk_index].pairs[row.index]
        left_code = code(row.file_index, row.hunk_index, left) if left >= 0 else None
        right_code = code(row.file_index, row.hunk_index, right) if right >= 0 else None
        return self.split_body(
            file, row.hunk_index, row.index, left_code, right_code, scroll_x, state
        )

    def file_header(self, layout: FileLayout, position: int, count: int, state: RowState) -> Strip:
        s = self.styles
        entry = layout.entry
        style = s["file-header"]
        text = Text(style=style, no_wrap=True, end="")
        text.append(" " + KIND_LETTERS.get(entry.kind, "M") + " ", s["kind"])
        text.append(" ")
        if entry.old_path and entry.old_path != entry.path:
            text.append(inert(entry.old_path) + " → ")
        text.append(inert(entry.path))
        text.append("  ")
        if entry.binary:
            text.append("binary", s["meta"])
        elif entry.added or entry.removed:
            text.append(f"+{entry.added}", s["stat-added"])
            text.append(" ")
            text.append(f"-{entry.removed}", s["stat-removed"])
        right = Text(style=style, no_wrap=True, end="")
        if layout.rejected:
            right.append(f"✗ {len(layout.rejected)} rejected  ", s["file-rejected"])
        if layout.reviewed:
            right.append("✓ reviewed  ", s["file-reviewed"])
        elif layout.review_stale:
            right.append("✓ reviewed, changed since  ", s["file-review-stale"])
        right.append(f"{position + 1}/{count} ")
        gap = self.width - text.cell_len - right.cell_len
        if gap > 0:
            text.append(" " * gap)
            text.append_text(right)
        return self._with_cursor(self._line(text, style), state)

    def meta(self, message: str, state: RowState) -> Strip:
        text = Text("   " + inert(message), style=self.styles["meta"], no_wrap=True, end="")
        return self._with_cursor(self._line(text, self.styles["base"]), state)

    def blank(self) -> Strip:
        return Strip.blank(self.width, self.styles["base"])

    def hunk_header(self, layout: FileLayout, hunk_index: int, state: RowState) -> Strip:
        s = self.styles
        hunk = layout.hunks[hunk_index].hunk if layout.hunks else None
        style = s["hunk-current"] if state.current else s["hunk-header"]
        bar = self._bar(state)
        text = Text(style=style, no_wrap=True, end="")
        text.append(bar.text, bar.style)
        text.append(inert(hunk.header if hunk else "@@"))
        right = Text(style=style, no_wrap=True, end="")
        if hunk_index in layout.rejected:
            right.append("✗ rejected  ", s["file-rejected"])
        right.append(f"hunk {hunk_index + 1}/{len(layout.hunks or ())} ")
        gap = self.width - text.cell_len - right.cell_len
        if gap > 0:
            text.append(" " * gap)
            text.append_text(right)
        return self._with_cursor(self._line(text, style), state)

    def _code_style(self, kind: str, rejected: bool) -> Style:
        s = self.styles
        if rejected:
            return s["rejected"]
        if kind == "+":
            return s["added"]
        if kind == "-":
            return s["removed"]
        return s["base"]

    def _sign_style(self, kind: str, line_style: Style) -> Style:
        s = self.styles
        if kind == "+":
            return line_style + s["added-sign"]
        if kind == "-":
            return line_style + s["removed-sign"]
        return line_style

    def _side(
        self,
        hunk: HunkLayout,
        line_index: int,
        code: Text,
        number: int,
        number_width: int,
        width: int,
        scroll_x: int,
        rejected: bool,
        cursor: bool,
    ) -> list[Segment]:
        """Numbers, sign and code of one line, exactly `width` cells (no leading bar)."""
        s = self.styles
        kind = hunk.hunk.lines[line_index][:1] or " "
        if kind == "\\":
            kind = " "
            line_style = s["meta"]
        else:
            line_style = self._code_style(kind, rejected)
        number_style = s["cursor"] if cursor else line_style + s["line-number"]
        label = f"{number:>{number_width}} " if number else " " * (number_width + 1)
        segments = [Segment(label, number_style)]
        segments.append(Segment(kind + " ", self._sign_style(kind, line_style)))
        code_width = max(0, width - number_width - 3)
        body = Text(code.plain, style=line_style, spans=code.spans, no_wrap=True, end="")
        code_strip = Strip(text_segments(body, self.console)).crop_extend(
            scroll_x, scroll_x + code_width, line_style
        )
        segments.extend(code_strip)
        return segments

    def unified_body(
        self,
        layout: FileLayout,
        hunk_index: int,
        line_index: int,
        code: Text,
        scroll_x: int,
        state: RowState,
    ) -> Strip:
        assert layout.hunks is not None
        s = self.styles
        hunk = layout.hunks[hunk_index]
        olds, news = hunk.numbers
        rejected = hunk_index in layout.rejected
        kind = hunk.hunk.lines[line_index][:1]
        if kind == "\\":
            line_style = s["meta"]
        else:
            line_style = self._code_style(kind, rejected)
        w = layout.number_width
        old, new = olds[line_index], news[line_index]
        numbers = (f"{old:>{w}} " if old else " " * (w + 1)) + (
            f"{new:>{w}} " if new else " " * (w + 1)
        )
        number_style = s["cursor"] if state.cursor else line_style + s["line-number"]
        sign = "  " if kind in (" ", "\\", "") else kind + " "
        segments = [
            self._bar(state),
            Segment(numbers, number_style),
            Segment(sign, self._sign_style(kind, line_style)),
        ]
        code_width = max(0, self.width - 1 - 2 * (w + 1) - 2)
        body = Text(code.plain, style=line_style, spans=code.spans, no_wrap=True, end="")
        segments.extend(
            Strip(text_segments(body, self.console)).crop_extend(
                scroll_x, scroll_x + code_width, line_style
            )
        )
        return Strip(segments, self.width)

    def split_body(
        self,
        layout: FileLayout,
        hunk_index: int,
        pair_index: int,
        left_code: Text | None,
        right_code: Text | None,
        scroll_x: int,
        state: RowState,
    ) -> Strip:
        assert layout.hunks is not None
        s = self.styles
        hunk = layout.hunks[hunk_index]
        olds, news = hunk.numbers
        left, right = hunk.pairs[pair_index]
        rejected = hunk_index in layout.rejected
        w = layout.number_width
        inner = self.width - 2  # the bar and the divider
        left_width = inner // 2
        right_width = inner - left_width
        segments = [self._bar(state)]
        if left >= 0 and left_code is not None:
            segments.extend(
                self._side(
                    hunk,
                    left,
                    left_code,
                    olds[left],
                    w,
                    left_width,
                    scroll_x,
                    rejected,
                    state.cursor,
                )
            )
        else:
            segments.append(Segment(" " * left_width, s["empty-side"]))
        segments.append(Segment("│", s["line-number"]))
        if right >= 0 and right_code is not None:
            segments.extend(
                self._side(
                    hunk,
                    right,
                    right_code,
                    news[right],
                    w,
                    right_width,
                    scroll_x,
                    rejected,
                    state.cursor,
                )
            )
        else:
            segments.append(Segment(" " * right_width, s["empty-side"]))
        return Strip(segments, self.width)
