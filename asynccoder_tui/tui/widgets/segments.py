"""Small helpers shared by the line-API painters: Rich text to segments, style parts.

`Text.render()` leaves a span-less text unstyled (Rich applies the base style one level up, in
`Console.render`); painting strips directly needs the base style on every segment, or the row
shows the terminal's own background.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text


def text_segments(text: Text, console: Console) -> list[Segment]:
    """The segments of `text` on one line, its base style applied even without spans."""
    if not text.spans:
        style = text.style if isinstance(text.style, Style) else console.get_style(text.style)
        return [Segment(text.plain, style)] if text.plain else []
    return list(text.render(console))


def foreground(style: Style) -> Style:
    """`style` without its background: colour and attributes to lay over another style."""
    return (
        style + Style(bgcolor=None)
        if style.bgcolor is None
        else Style(
            color=style.color,
            bold=style.bold,
            dim=style.dim,
            italic=style.italic,
            underline=style.underline,
            strike=style.strike,
            reverse=style.reverse,
        )
    )


def background(style: Style) -> Style:
    """Only the background of `style`."""
    return Style(bgcolor=style.bgcolor)
