"""Make untrusted text (repository files, model output, tool output) inert on the terminal.

Text from a repository or a model may hold escape sequences and control characters that a
terminal would obey (move the cursor, change the title, hide text, rewrite the screen) and
Unicode direction overrides that make code read differently from what it does. Every string the
widgets paint goes through `inert()` first: control characters become visible symbols (ESC shows
as `␛`, so an escape sequence is seen, not executed), direction controls are named, tabs become
spaces. Widgets build `rich.text.Text` objects directly, never parse markup from such text, so
`[bold]` stays literal too.

This module only transforms strings; it knows nothing of widgets.
"""

from __future__ import annotations

import re

# C0 controls except tab, DEL, C1 controls, line/paragraph separators, bidirectional controls
# (the "Trojan Source" characters) and interlinear annotation characters.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]"
)


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0x9F:
        return "\ufffd"
    return f"<U+{code:04X}>"


def inert(text: str, tab_size: int = 4) -> str:
    """`text` with nothing a terminal would act on: controls shown as symbols, tabs expanded."""
    if text.isprintable():
        return text
    if "\t" in text:
        text = text.expandtabs(tab_size)
    return _UNSAFE.sub(_visible, text)
