"""Widgets of the terminal UI.

`DiffView` (hunk-by-hunk review of a change set) and `TranscriptView` (a task's live agent
transcript) are line-API views: they paint only the rows on screen, so their cost does not
grow with the diff or the transcript. Both take plain data (`DiffFile`/`DiffHunk`, domain
`TaskEvent`s) and talk to their screen with messages; neither reads the database.
"""

from __future__ import annotations

from asynccoder_tui.tui.widgets.diff_model import FILE_KINDS, DiffFile, DiffHunk
from asynccoder_tui.tui.widgets.diff_view import DiffView
from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

__all__ = ["FILE_KINDS", "DiffFile", "DiffHunk", "DiffView", "TranscriptView"]
