"""Messages `DiffView` posts to the screen that hosts it.

They are defined here, in the `diff_view` namespace, and exposed as attributes of `DiffView`
(`DiffView.HunkDecision`), so handlers are named `on_diff_view_hunk_decision` and `@on` works
with the view's attributes as usual. The view never acts on the repository itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from asynccoder_tui.tui.widgets.diff_view import DiffView


class DiffViewMessage(Message, namespace="diff_view"):
    def __init__(self, diff_view: DiffView, path: str) -> None:
        super().__init__()
        self.diff_view = diff_view
        self.path = path

    @property
    def control(self) -> DiffView:
        return self.diff_view


class FileHunksNeeded(DiffViewMessage, namespace="diff_view"):
    """A file whose hunks were not given is about to show; answer with `set_file_hunks()`."""


class HunkDecision(DiffViewMessage, namespace="diff_view"):
    """The user accepted (`rejected=False`) or rejected hunk `hunk_index` of `path`."""

    def __init__(self, diff_view: DiffView, path: str, hunk_index: int, rejected: bool) -> None:
        super().__init__(diff_view, path)
        self.hunk_index = hunk_index
        self.rejected = rejected


class FileReviewed(DiffViewMessage, namespace="diff_view"):
    """The user marked `path` reviewed (`reviewed=True`) or took the mark back."""

    def __init__(self, diff_view: DiffView, path: str, reviewed: bool) -> None:
        super().__init__(diff_view, path)
        self.reviewed = reviewed


class HunkCommentRequested(DiffViewMessage, namespace="diff_view"):
    """The user wants to comment on hunk `hunk_index` of `path`."""

    def __init__(self, diff_view: DiffView, path: str, hunk_index: int) -> None:
        super().__init__(diff_view, path)
        self.hunk_index = hunk_index


class OpenInEditor(DiffViewMessage, namespace="diff_view"):
    """The user wants `path` open in their editor, at `line` of the new side when known."""

    def __init__(self, diff_view: DiffView, path: str, line: int | None) -> None:
        super().__init__(diff_view, path)
        self.line = line
