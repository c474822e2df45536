"""Widgets of the terminal UI.

`DiffView` (hunk-by-hunk review of a change set) and `TranscriptView` (a task's live agent
transcript) are line-API views: they paint only the rows on screen, so their cost does not
grow with the diff or the transcript. Both take plain data (`DiffFile`/`DiffHunk`, domain
`TaskEvent`s) and talk to their screen with messages; neither reads the database.

The names below load on first use: importing any one widget module (the header, the banner)
must not pull in the diff and transcript views and their syntax highlighter before the first
frame.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asynccoder_tui.tui.widgets.diff_model import FILE_KINDS, DiffFile, DiffHunk
    from asynccoder_tui.tui.widgets.diff_view import DiffView
    from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

_WHERE = {
    "FILE_KINDS": "diff_model",
    "DiffFile": "diff_model",
    "DiffHunk": "diff_model",
    "DiffView": "diff_view",
    "TranscriptView": "transcript_view",
}

__all__ = ["FILE_KINDS", "DiffFile", "DiffHunk", "DiffView", "TranscriptView"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
