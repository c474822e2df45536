"""Markdown-ish rendering one source line at a time, for the streaming transcript.

A full Markdown renderer needs the whole document and re-renders it on every change, which a
stream of 2,000 tokens a second cannot afford. Here each line is classified on its own (heading,
list item, quote, rule, fence, code, paragraph) given only whether it sits inside a code fence,
so a finished line never changes and only the growing last line is re-rendered. Inline
`code`, **bold**, *italic* and [links](url) are styled; everything else shows as written.

`wrap_starts()` is the single word-wrap used both to measure a line (rows it takes) and to paint
it, so the layout and the picture always agree. All text passes through `inert()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len, get_character_cell_size
from rich.text import Span

from asynccoder_tui.tui.widgets.inert import inert

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|\*\*(?P<bold>[^*]+?)\*\*"
    r"|__(?P<bold2>[^_]+?)__"
    r"|(?<![\w*])\*(?P<italic>[^*\s](?:[^*]*?[^*\s])?)\*(?!\w)"
    r"|\[(?P<link>[^\]]+)\]\((?P<url>[^)\s]+)\)"
)


MARKDOWN_KINDS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "quote"})
"""Shapes whose text has inline Markdown; others (`code`, `plain`) are shown as written."""


@dataclass(frozen=True, slots=True)
class LineShape:
    """How one Markdown source line is drawn."""

    kind: str
    """`p`, `h1`…`h6`, `li`, `quote`, `rule`, `fence`, `code`, `blank`, or `plain` (no
    Markdown at all: notices and tool output)."""
    text: str
    """The line's content without its Markdown marker (bullet, `#`, `>`)."""
    prefix: str = ""
    """Drawn before the first row (a bullet, a quote bar)."""
    indent: str = ""
    """Drawn before every following row."""
    language: str = ""


@dataclass(slots=True)
class FenceState:
    """Whether the lines so far left a code fence open (and with which marker and language)."""

    marker: str = ""
    language: str = ""

    @property
    def open(self) -> bool:
        return bool(self.marker)


def classify(line: str, fence: FenceState) -> LineShape:
    """The shape of `line` given the fence state before it (the state is not changed)."""
    fence_match = _FENCE.match(line)
    if fence.open:
        if fence_match and fence_match.group(1)[0] == fence.marker[0] and not fence_match.group(2):
            if len(fence_match.group(1)) >= len(fence.marker):
                return LineShape("fence", "", language="")
        return LineShape("code", line, "  ", "  ", fence.language)
    if fence_match:
        return LineShape("fence", "", language=fence_match.group(2))
    if not line.strip():
        return LineShape("blank", "")
    if _RULE.match(line):
        return LineShape("rule", "")
    heading = _HEADING.match(line)
    if heading:
        return LineShape(f"h{len(heading.group(1))}", heading.group(2))
    item = _LIST.match(line)
    if item:
        lead = " " * (len(item.group(1).expandtabs(4)) + 2)
        marker = item.group(2)
        bullet = "• " if marker in "-*+" else marker + " "
        return LineShape("li", item.group(3), lead + bullet, lead + " " * len(bullet))
    quote = _QUOTE.match(line)
    if quote:
        return LineShape("quote", quote.group(1), "▎ ", "▎ ")
    stripped = line.lstrip(" ")
    lead = " " * min(len(line) - len(stripped), 8)
    return LineShape("p", stripped, lead, lead)


def advance(line: str, fence: FenceState) -> None:
    """Update `fence` for the line that follows `line` (call once per finished line)."""
    shape = classify(line, fence)
    if shape.kind != "fence":
        return
    if fence.open:
        fence.marker = ""
        fence.language = ""
    else:
        match = _FENCE.match(line)
        fence.marker = match.group(1) if match else "```"
        fence.language = shape.language


def inline(text: str) -> tuple[str, list[Span]]:
    """Plain, inert text and style spans (`code`, `bold`, `italic`, `link`) of a line."""
    text = inert(text)
    if not any(c in text for c in "`*_["):
        return text, []
    plain: list[str] = []
    spans: list[Span] = []
    position = 0
    last = 0
    for match in _INLINE.finditer(text):
        before = text[last : match.start()]
        plain.append(before)
        position += len(before)
        kind = match.lastgroup
        if match.group("code_text") is not None:
            content, style = match.group("code_text"), "code"
        elif match.group("bold") is not None or match.group("bold2") is not None:
            content, style = match.group("bold") or match.group("bold2"), "bold"
        elif match.group("italic") is not None:
            content, style = match.group("italic"), "italic"
        elif match.group("link") is not None:
            content, style = match.group("link"), "link"
        else:  # pragma: no cover - every alternative is named above
            content, style = match.group(0), str(kind)
        plain.append(content)
        spans.append(Span(position, position + len(content), style))
        position += len(content)
        last = match.end()
    plain.append(text[last:])
    return "".join(plain), spans


def wrap_starts(text: str, width: int) -> list[int]:
    """Offsets where each row of `text` starts when word-wrapped to `width` cells.

    Breaks at spaces when it can (the space is dropped), mid-word when a word is too long.
    """
    width = max(1, width)
    if text.isascii():
        n = len(text)
        starts = [0]
        start = 0
        while n - start > width:
            end = start + width
            cut = text.rfind(" ", start + 1, end + 1)
            if cut <= start:
                following = end
            else:
                following = cut + 1
                while following < n and text[following] == " ":
                    following += 1
                if following >= n:
                    break
            starts.append(following)
            start = following
        return starts
    return _wrap_cells(text, width)


def _wrap_cells(text: str, width: int) -> list[int]:
    starts = [0]
    row_start = 0
    used = 0
    last_space = -1
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        size = get_character_cell_size(char)
        if used + size > width and i > row_start:
            if char == " ":
                following = i
            elif last_space > row_start:
                following = last_space + 1
            else:
                following = i
            while following < n and text[following] == " ":
                following += 1
            if following >= n:
                break
            starts.append(following)
            row_start = i = following
            used = 0
            last_space = -1
            continue
        if char == " ":
            last_space = i
        used += size
        i += 1
    return starts


def rows_needed(shape: LineShape, width: int) -> int:
    """How many rows a shaped line takes at `width` (exactly what painting will produce)."""
    if shape.kind in ("blank", "rule", "fence"):
        return 1
    available = text_width(shape, width)
    text = shape.text
    if len(text) <= available and text.isascii() and text.isprintable():
        return 1
    plain = inline(text)[0] if shape.kind in MARKDOWN_KINDS else inert(text)
    return len(wrap_starts(plain, available))


def text_width(shape: LineShape, width: int) -> int:
    """Cells left for the text of every row once the prefix or indent is drawn."""
    return max(1, width - max(cell_len(shape.prefix), cell_len(shape.indent)))
