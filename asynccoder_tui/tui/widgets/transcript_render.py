"""Painting transcript items into strips, and measuring how many rows each takes.

`TranscriptPainter.height()` and `.paint()` agree by construction: both word-wrap the same
plain text with `wrap_starts()` at the same width. Painting caches nothing (the view does);
every string is made inert before it reaches a `Text`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Span, Text
from textual.strip import Strip

from asynccoder_tui.tui.widgets.inert import inert
from asynccoder_tui.tui.widgets.markdown_lines import (
    MARKDOWN_KINDS,
    LineShape,
    inline,
    rows_needed,
    text_width,
    wrap_starts,
)
from asynccoder_tui.tui.widgets.segments import text_segments
from asynccoder_tui.tui.widgets.syntax import highlight_lines, lexer_for_language, syntax_colors
from asynccoder_tui.tui.widgets.transcript_model import (
    Item,
    ItemKind,
    ToolCall,
    argument_summary,
)

MESSAGE_MARGIN = "  "
"""Message lines sit two cells right of their role label."""

STYLE_NAMES = (
    "base",
    "role-user",
    "role-assistant",
    "role-system",
    "heading",
    "heading-1",
    "code",
    "fence",
    "quote",
    "inline-code",
    "link",
    "tool",
    "tool-running",
    "tool-ok",
    "tool-error",
    "tool-stopped",
    "detail",
    "detail-label",
    "note",
    "status",
    "error",
    "usage",
    "retry",
    "review_comment",
    "cursor",
    "hint",
)

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}
TOOL_MARKS = {"running": "…", "ok": "✓", "error": "✗ error", "stopped": "⊘ stopped"}


class TranscriptPainter:
    """Measures and paints items at one width with one set of styles."""

    def __init__(self, console: Console, styles: dict[str, Style], width: int, dark: bool) -> None:
        self.console = console
        self.styles = styles
        self.width = max(4, width)
        self.dark = dark

    # -- measuring --------------------------------------------------------------------------

    def height(self, item: Item) -> int:
        kind = item.kind
        if kind in (ItemKind.SPACER, ItemKind.ROLE, ItemKind.TOOL):
            return 1
        if item.partial and not item.shape.text.strip():
            return 0
        return rows_needed(item.shape, self.width - self._margin(item))

    @staticmethod
    def _margin(item: Item) -> int:
        return len(MESSAGE_MARGIN) if item.kind == ItemKind.LINE else 0

    # -- painting ---------------------------------------------------------------------------

    def paint(self, item: Item) -> list[Strip]:
        kind = item.kind
        if kind == ItemKind.SPACER:
            return [Strip.blank(self.width, self.styles["base"])]
        if kind == ItemKind.ROLE:
            return [self._role(item.style)]
        if kind == ItemKind.TOOL:
            assert item.tool is not None
            return [self._tool(item.tool)]
        return self._shape(item)

    def _strip(self, text: Text, style: Style | None = None) -> Strip:
        base = style or self.styles["base"]
        return Strip(text_segments(text, self.console)).crop_extend(0, self.width, base)

    def _role(self, role: str) -> Strip:
        style = self.styles.get(f"role-{role}", self.styles["role-system"])
        label = ROLE_LABELS.get(role) or inert(role.title() or "Message")
        return self._strip(Text("▍ " + label, style=style, no_wrap=True, end=""))

    def _tool(self, tool: ToolCall) -> Strip:
        s = self.styles
        text = Text(style=s["tool"], no_wrap=True, end="")
        text.append(("▾ " if tool.expanded else "▸ ") + "⚙ ")
        text.append(inert(tool.name), Style(bold=True))
        summary = inert(argument_summary(tool.arguments))
        mark = TOOL_MARKS[tool.state]
        room = self.width - text.cell_len - cell_len(mark) - 4
        if room > 3:
            if cell_len(summary) > room:
                summary = summary[: room - 1] + "…"
            text.append(f"({summary})" if summary else "()")
        text.append("  ")
        text.append(mark, s[f"tool-{tool.state}"])
        return self._strip(text)

    def _line_style(self, item: Item) -> Style:
        s = self.styles
        shape = item.shape
        if item.kind == ItemKind.NOTICE:
            return s.get(item.style, s["status"])
        if item.kind == ItemKind.DETAIL:
            return (
                s["detail-label"]
                if item.style == "label"
                else s["note" if item.style == "note" else "detail"]
            )
        if shape.kind == "h1":
            return s["heading-1"]
        if shape.kind.startswith("h"):
            return s["heading"]
        if shape.kind in ("code", "fence"):
            return s["code"]
        if shape.kind == "quote":
            return s["quote"]
        if item.style == "user":
            return s["role-user"] + Style(bold=False)
        return s["base"]

    def _content(self, shape: LineShape, style: Style) -> Text:
        if shape.kind == "code":
            lexer = lexer_for_language(shape.language)
            if lexer is not None:
                highlighted = highlight_lines(lexer, [shape.text], syntax_colors(self.dark))[0]
                return Text(highlighted.plain, style=style, spans=highlighted.spans, end="")
            return Text(inert(shape.text), style=style, end="")
        if shape.kind not in MARKDOWN_KINDS:
            return Text(inert(shape.text), style=style, end="")
        plain, spans = inline(shape.text)
        styles = self.styles
        named = {
            "code": styles["inline-code"],
            "bold": Style(bold=True),
            "italic": Style(italic=True),
            "link": styles["link"],
        }
        return Text(
            plain, style=style, spans=[Span(a, b, named[str(n)]) for a, b, n in spans], end=""
        )

    def _shape(self, item: Item) -> list[Strip]:
        shape = item.shape
        style = self._line_style(item)
        margin = MESSAGE_MARGIN if item.kind == ItemKind.LINE else ""
        width = self.width - len(margin)
        if shape.kind == "blank":
            return [Strip.blank(self.width, self.styles["base"])]
        if shape.kind == "rule":
            return [self._strip(Text(margin + "─" * max(0, width - 1), style=self.styles["fence"]))]
        if shape.kind == "fence":
            label = f" {shape.language} " if shape.language else ""
            line = margin + "╶─" + label + "─" * max(0, width - 4 - len(label))
            return [self._strip(Text(line, style=self.styles["fence"], no_wrap=True, end=""))]
        content = self._content(shape, style)
        starts = wrap_starts(content.plain, text_width(shape, width))
        rows = content.divide(starts[1:]) if len(starts) > 1 else [content]
        strips = []
        for number, row in enumerate(rows):
            row.rstrip()
            lead = shape.prefix if number == 0 else shape.indent
            painted = Text(margin, style=self.styles["base"], end="")
            painted.append(lead, style if shape.kind == "code" else self.styles["base"])
            painted.append_text(row)
            strips.append(self._strip(painted, style if shape.kind == "code" else None))
        return strips

    def hint(self, message: str) -> Strip:
        text = Text(message, style=self.styles["hint"], no_wrap=True, end="")
        pad = max(0, self.width - text.cell_len)
        line = Text(" " * pad, style=self.styles["base"], end="")
        line.append_text(text)
        return self._strip(line)
