"""Syntax highlighting of a few lines at a time, for the line-API widgets.

`lexer_for_path()` finds a Pygments lexer from a file name without the slow plugin scan of
`get_lexer_for_filename` (it reads Pygments' own table once); `highlight_lines()` turns a run of
source lines into one `Text` per line, with foreground colours only so that the widget's own
backgrounds (added, removed, cursor) show through. Callers highlight what is on screen, in
small runs, and cache the result; nothing here caches rendered text.
"""

from __future__ import annotations

import fnmatch
import logging
import posixpath
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.style import Style
from rich.syntax import PygmentsSyntaxTheme
from rich.text import Text

from asynccoder_tui.tui.widgets.inert import inert

if TYPE_CHECKING:
    from pygments.lexer import Lexer
    from pygments.token import _TokenType

log = logging.getLogger(__name__)

DARK_SYNTAX_THEME = "monokai"
LIGHT_SYNTAX_THEME = "friendly"


@lru_cache(maxsize=1)
def _lexer_table() -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """(extension → lexer name, exact file name → lexer name, other patterns) from Pygments."""
    from pygments.lexers._mapping import LEXERS

    by_ext: dict[str, str] = {}
    by_name: dict[str, str] = {}
    patterns: list[tuple[str, str]] = []
    for _module, name, _aliases, filenames, _mimes in LEXERS.values():
        for pattern in filenames:
            if pattern.startswith("*.") and not any(c in pattern[2:] for c in "*?["):
                by_ext.setdefault(pattern[1:].lower(), name)
            elif not any(c in pattern for c in "*?["):
                by_name.setdefault(pattern, name)
            else:
                patterns.append((pattern, name))
    # Common extensions Pygments maps ambiguously; pick what people mean.
    by_ext.update({".h": "C", ".md": "Markdown", ".ts": "TypeScript", ".v": "verilog"})
    return by_ext, by_name, patterns


_LOADED: dict[str, Lexer | None] = {}
"""Lexers by Pygments name, once loaded (importing and compiling one takes tens of ms)."""


def _lexer_by_name(name: str) -> Lexer | None:
    if name in _LOADED:
        return _LOADED[name]
    from pygments.lexers import find_lexer_class

    lexer: Lexer | None = None
    try:
        cls = find_lexer_class(name)
        if cls is not None:
            lexer = cls(stripnl=False, ensurenl=False, tabsize=4)
    except Exception:  # a broken third-party lexer must not break the view
        log.exception("loading lexer %s failed", name)
    _LOADED[name] = lexer
    return lexer


@lru_cache(maxsize=4096)
def _lexer_name(base: str) -> str | None:
    by_ext, by_name, patterns = _lexer_table()
    name = by_name.get(base)
    if name is None:
        _root, ext = posixpath.splitext(base)
        name = by_ext.get(ext.lower())
    if name is None:
        for pattern, candidate in patterns:
            if fnmatch.fnmatchcase(base, pattern):
                name = candidate
                break
    if name in ("Text only", "Text output"):
        return None
    return name


def lexer_for_path(path: str) -> Lexer | None:
    """The lexer for a file name, or None for plain text (unknown or no highlighting wanted).

    The first call for a language loads its lexer, which takes tens of milliseconds; see
    `lexer_ready()` to avoid paying that inside a frame.
    """
    name = _lexer_name(posixpath.basename(path))
    return None if name is None else _lexer_by_name(name)


def lexer_ready(path: str) -> bool:
    """Whether `lexer_for_path(path)` would answer at once (nothing left to load)."""
    if _lexer_table.cache_info().currsize == 0:
        return False
    name = _lexer_name(posixpath.basename(path))
    return name is None or name in _LOADED


@lru_cache(maxsize=1024)
def lexer_for_language(language: str) -> Lexer | None:
    """The lexer for a Markdown fence's info string (`python`, `ts`, `rust`), or None."""
    if not language:
        return None
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language.lower(), stripnl=False, ensurenl=False, tabsize=4)
    except ClassNotFound:
        return lexer_for_path(f"x.{language}")


class SyntaxColors:
    """Maps Pygments tokens to foreground-only Rich styles of one Pygments theme."""

    def __init__(self, theme_name: str) -> None:
        self._theme = PygmentsSyntaxTheme(theme_name)
        self._styles: dict[_TokenType, Style] = {}

    def style_for(self, token_type: _TokenType) -> Style:
        style = self._styles.get(token_type)
        if style is None:
            full = self._theme.get_style_for_token(token_type)
            style = Style(color=full.color, bold=full.bold, italic=full.italic)
            self._styles[token_type] = style
        return style


@lru_cache(maxsize=4)
def syntax_colors(dark: bool) -> SyntaxColors:
    return SyntaxColors(DARK_SYNTAX_THEME if dark else LIGHT_SYNTAX_THEME)


def highlight_lines(lexer: Lexer, lines: list[str], colors: SyntaxColors) -> list[Text]:
    """One highlighted, inert `Text` per line of `lines`, lexed together as one snippet."""
    source = "\n".join(lines) + "\n"
    result: list[Text] = []
    current = Text()
    style_for = colors.style_for
    try:
        tokens = list(lexer.get_tokens(source))
    except Exception:  # a lexer bug shows plain text, never an error
        log.exception("highlighting failed")
        return [Text(inert(line)) for line in lines]
    for token_type, value in tokens:
        style = style_for(token_type)
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                result.append(current)
                current = Text()
            if part:
                current.append(inert(part), style)
    if current.plain:
        result.append(current)
    # Lexers may drop or add a trailing newline; keep exactly one Text per input line.
    if len(result) < len(lines):
        result.extend(Text() for _ in range(len(lines) - len(result)))
    return result[: len(lines)]
