"""Making text from models, repositories and remote APIs safe to show in a terminal.

`inert(text)` removes terminal escape sequences (CSI, OSC, DCS and the rest) and control
characters, keeping newlines and tabs, so a hostile string cannot move the cursor, retitle the
window, write to the clipboard or hide text when the UI or the CLI echoes it.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"""
    \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?      # OSC ... BEL or ST
    | \x1b[P^_X][^\x1b]*(?:\x1b\\)?          # DCS, PM, APC, SOS ... ST
    | \x1b\[[0-?]*[ -/]*[@-~]?               # CSI
    | \x1b[ -/]*[0-~]?                       # other two-character escapes
    | \x9b[0-?]*[ -/]*[@-~]?                 # 8-bit CSI
    | [\x90\x9d\x9e\x9f][^\x9c\x07]*[\x9c\x07]?  # 8-bit DCS/OSC/PM/APC
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def inert(text: str) -> str:
    """`text` without escape sequences or control characters (newline and tab kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))
