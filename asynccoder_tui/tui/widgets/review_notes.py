"""The reviewer's verdict in the diff pane: status and scores, then each issue and suggestion
at its file and line, with the hunk of the diff it falls in. Hidden while a task has no review."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from asynccoder_tui.domain.models import Review
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.widgets.diff_model import DiffFile

STATUS_STYLE = {"approved": "green", "changes_requested": "yellow", "commented": "cyan"}


def hunk_of(files: Sequence[DiffFile], path: str | None, line: int | None) -> int | None:
    """The index of the loaded hunk of `path` whose new side holds `line`, if any."""
    if not path or not line:
        return None
    for f in files:
        if f.path != path or not f.hunks:
            continue
        for index, hunk in enumerate(f.hunks):
            added = sum(1 for body in hunk.lines if body[:1] in ("+", " "))
            if hunk.new_start <= line < hunk.new_start + max(1, added):
                return index
    return None


def render_review(review: Review, files: Sequence[DiffFile]) -> Text:
    def score(value: Any) -> str:
        return "-" if value is None else f"{float(value):.2f}"

    text = Text.assemble(
        ("Review: ", "bold"),
        (review.status.replace("_", " "), f"bold {STATUS_STYLE.get(review.status, '')}"),
        f"  ·  quality {score(review.quality_score)}  ·  security {score(review.security_score)}",
    )
    if review.status != "approved":
        text.append("  ·  b sends it back to the agent", style="dim")
    if review.summary:
        text.append("\n" + safe(review.summary), style="italic")
    for label, findings in (("issue", review.issues), ("suggestion", review.suggestions)):
        for f in findings:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
            hunk = hunk_of(files, f.file, f.line)
            beside = f" (hunk {hunk + 1})" if hunk is not None else ""
            severity = f" [{f.severity}]" if f.severity else ""
            text.append(f"\n{label}{severity} ", style="yellow" if label == "issue" else "dim")
            text.append(safe(where) + beside, style="cyan")
            text.append(": " + safe(f.message))
    return text


class ReviewNotes(Static):
    """The latest review of the shown task (hidden when there is none)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.review: Review | None = None
        self.display = False

    def show_review(self, review: Review | None, files: Sequence[DiffFile]) -> None:
        self.review = review
        self.display = review is not None
        self.update(render_review(review, files) if review is not None else "")
