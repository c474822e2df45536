"""The data the diff view shows, and the row layout that maps screen rows onto it.

`DiffFile` and `DiffHunk` are what callers hand to `DiffView` (`to_diff_file` and
`to_diff_hunks` adapt the version-control models to them). A file's hunks may be left out (`hunks=None`) and supplied
later, when the view asks for them.

The layout never materialises one object per row: each file knows its own height, the view
keeps prefix sums over files, and a row is found with two binary searches (file, then hunk).
Opening a 100,000-line diff costs a pass over files and hunks, not over lines.

Nothing here draws; `diff_render.py` turns rows into strips.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from itertools import accumulate
from typing import Any

FILE_KINDS = ("added", "deleted", "modified", "renamed", "copied", "type_changed")


@dataclass(frozen=True, slots=True)
class DiffHunk:
    """One `@@` hunk.

    `lines` are the hunk's body lines as git prints them: the first character is the kind
    (`+` added, `-` removed, space for context, `\\` for "No newline at end of file"), the rest
    is the text, without a line ending.
    """

    header: str
    old_start: int
    new_start: int
    lines: Sequence[str]


@dataclass(frozen=True, slots=True)
class DiffFile:
    """One changed file, as listed before its hunks are known.

    `kind` is one of `FILE_KINDS`; `hunks=None` means "not loaded yet" (the view posts
    `DiffView.FileHunksNeeded` when the file scrolls into view), an empty sequence means the
    file has no text changes (binary, mode change, pure rename, empty file).
    """

    path: str
    kind: str = "modified"
    old_path: str | None = None
    added: int = 0
    removed: int = 0
    binary: bool = False
    old_mode: str | None = None
    new_mode: str | None = None
    hunks: Sequence[DiffHunk] | None = None

    @property
    def mode_changed(self) -> bool:
        return bool(self.old_mode and self.new_mode and self.old_mode != self.new_mode)


def to_diff_file(change: Any) -> DiffFile:
    """A version-control `FileChange` as the diff view's `DiffFile` (hunks not loaded)."""
    kind = getattr(change.kind, "value", str(change.kind))
    return DiffFile(
        path=change.path,
        kind=kind,
        old_path=change.old_path,
        added=change.added or 0,
        removed=change.removed or 0,
        binary=bool(change.binary),
        old_mode=change.old_mode,
        new_mode=change.new_mode,
        hunks=() if change.binary else None,
    )


def to_diff_hunks(file_diff: Any) -> list[DiffHunk]:
    return [
        DiffHunk(header=h.header, old_start=h.old_start, new_start=h.new_start, lines=h.lines)
        for h in file_diff.hunks
    ]


class RowKind(IntEnum):
    FILE_HEADER = 0
    META = 1
    HUNK_HEADER = 2
    BODY = 3
    SPACER = 4


@dataclass(slots=True)
class Row:
    """What one screen row shows: indices into the view's files and hunks."""

    kind: RowKind
    file_index: int
    hunk_index: int = -1
    index: int = -1
    """BODY: unified line index or split pair index; META: which meta line."""


_CHANGE_BLOCK = re.compile(r"(-+)(\++)")


def split_row_count(lines: Sequence[str]) -> int:
    """Rows a hunk takes side by side, without building its pairs (a layout of 100,000 lines
    must not walk them in Python): every line takes a row, less one for each removed line
    paired with an added one. In a block of d removals then a additions, min(d, a) pairs; and
    "-"*k + "+"*k occurs once in a block exactly when k <= min(d, a).
    """
    kinds = "".join([line[:1] or " " for line in lines])
    paired = 0
    k = 1
    while k <= 32:
        found = kinds.count("-" * k + "+" * k)
        if not found:
            return len(lines) - paired
        paired += found
        k += 1
    for removed, added in _CHANGE_BLOCK.findall(kinds):
        paired += max(0, min(len(removed), len(added)) - 32)
    return len(lines) - paired


class HunkLayout:
    """Per-hunk facts computed on first use: line numbers and side-by-side pairs."""

    __slots__ = ("_numbers", "_pairs", "_split_rows", "hunk")

    def __init__(self, hunk: DiffHunk) -> None:
        self.hunk = hunk
        self._numbers: tuple[list[int], list[int]] | None = None
        self._pairs: list[tuple[int, int]] | None = None
        self._split_rows: int | None = None

    @property
    def numbers(self) -> tuple[list[int], list[int]]:
        """(old, new) line number of each body line; 0 where the line has none on that side."""
        if self._numbers is None:
            old_no, new_no = self.hunk.old_start, self.hunk.new_start
            olds: list[int] = []
            news: list[int] = []
            for line in self.hunk.lines:
                kind = line[:1]
                if kind == "+":
                    olds.append(0)
                    news.append(new_no)
                    new_no += 1
                elif kind == "-":
                    olds.append(old_no)
                    news.append(0)
                    old_no += 1
                elif kind == "\\":
                    olds.append(0)
                    news.append(0)
                else:
                    olds.append(old_no)
                    news.append(new_no)
                    old_no += 1
                    new_no += 1
            self._numbers = (olds, news)
        return self._numbers

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Side-by-side rows as (left line index, right line index), -1 for an empty side.

        Context lines sit on both sides; a run of removals followed by a run of additions is
        paired line by line, so a changed line shows its old and new text side by side.
        """
        if self._pairs is None:
            pairs: list[tuple[int, int]] = []
            removed: list[int] = []
            added: list[int] = []

            def flush() -> None:
                for k in range(max(len(removed), len(added))):
                    pairs.append(
                        (
                            removed[k] if k < len(removed) else -1,
                            added[k] if k < len(added) else -1,
                        )
                    )
                removed.clear()
                added.clear()

            for i, line in enumerate(self.hunk.lines):
                kind = line[:1]
                if kind == "-":
                    if added:
                        flush()
                    removed.append(i)
                elif kind == "+":
                    added.append(i)
                else:
                    flush()
                    pairs.append((i, i))
            flush()
            self._pairs = pairs
        return self._pairs

    def body_rows(self, split: bool) -> int:
        if not split:
            return len(self.hunk.lines)
        if self._pairs is not None:
            return len(self._pairs)
        if self._split_rows is None:
            self._split_rows = split_row_count(self.hunk.lines)
        return self._split_rows

    def pair_of_line(self, line_index: int) -> int:
        """The side-by-side row that shows unified line `line_index`."""
        for row, (left, right) in enumerate(self.pairs):
            if line_index in (left, right):
                return row
        return 0

    def line_of_pair(self, pair_index: int) -> int:
        pairs = self.pairs
        if not pairs:
            return 0
        left, right = pairs[min(pair_index, len(pairs) - 1)]
        return left if left >= 0 else right


@dataclass(slots=True)
class FileLayout:
    """One file of the view: its entry, loaded hunks, review state and its own row layout."""

    entry: DiffFile
    hunks: list[HunkLayout] | None = None
    requested: bool = False
    reviewed: bool = False
    review_stale: bool = False
    """Marked reviewed once, and the file changed since (shown until marked again)."""
    rejected: set[int] = field(default_factory=set)
    generation: int = 0
    """Bumped on every change that alters how the file's rows look (strip cache key)."""
    meta: list[str] = field(default_factory=list)
    hunk_starts: list[int] = field(default_factory=list)
    """Row of each hunk header relative to the file header; one extra entry: the spacer row."""
    number_width: int = 3
    max_text: int = 0

    @classmethod
    def of(cls, entry: DiffFile) -> FileLayout:
        layout = cls(entry=entry)
        if entry.hunks is not None:
            layout.set_hunks(entry.hunks)
        return layout

    def set_hunks(self, hunks: Sequence[DiffHunk]) -> None:
        """Load the file's hunks. Replacing loaded hunks clears the rejected marks: they name
        hunks by index, and a re-read diff (after a reverted hunk) numbers them anew."""
        if self.hunks is not None:
            self.rejected.clear()
        self.hunks = [HunkLayout(h) for h in hunks]
        self.rejected = {i for i in self.rejected if i < len(self.hunks)}
        widest = 1
        longest = 0
        for h in hunks:
            widest = max(widest, h.old_start + len(h.lines), h.new_start + len(h.lines))
            if h.lines:
                longest = max(longest, max(map(len, h.lines)))
        self.number_width = max(3, len(str(widest)))
        self.max_text = longest
        self.generation += 1

    def relayout(self, split: bool) -> int:
        """Recompute row offsets for the given mode; returns the file's height in rows."""
        entry = self.entry
        meta: list[str] = []
        if entry.binary:
            meta.append("Binary file changed")
        if entry.mode_changed:
            meta.append(f"Mode changed {entry.old_mode} → {entry.new_mode}")
        if self.hunks is None:
            meta.append("Loading changes…")
        elif not self.hunks and not meta:
            meta.append("Renamed without changes" if entry.kind == "renamed" else "No text changes")
        self.meta = meta
        row = 1 + len(meta)
        starts = [row]
        for h in self.hunks or ():
            row += 1 + h.body_rows(split)
            starts.append(row)
        self.hunk_starts = starts
        return row + 1

    @property
    def height_without_spacer(self) -> int:
        return self.hunk_starts[-1]


class DiffLayout:
    """Prefix sums over file heights: row ↔ (file, hunk, line) in O(log n)."""

    def __init__(self, files: list[FileLayout], split: bool) -> None:
        self.files = files
        self.split = split
        self.heights = [f.relayout(split) for f in files]
        self.starts = [0, *accumulate(self.heights)]

    @property
    def total(self) -> int:
        return self.starts[-1]

    def set_split(self, split: bool) -> None:
        self.split = split
        self.heights = [f.relayout(split) for f in self.files]
        self.starts = [0, *accumulate(self.heights)]

    def refile(self, file_index: int) -> int:
        """Re-measure one file after its hunks changed; returns the change in total rows."""
        old = self.heights[file_index]
        new = self.files[file_index].relayout(self.split)
        delta = new - old
        if delta:
            self.heights[file_index] = new
            starts = self.starts
            for i in range(file_index + 1, len(starts)):
                starts[i] += delta
        return delta

    def file_at(self, y: int) -> int:
        return max(0, min(len(self.files) - 1, bisect_right(self.starts, y) - 1))

    def row(self, y: int) -> Row | None:
        if not self.files or y < 0 or y >= self.total:
            return None
        f = self.file_at(y)
        layout = self.files[f]
        rel = y - self.starts[f]
        if rel == 0:
            return Row(RowKind.FILE_HEADER, f)
        if rel <= len(layout.meta):
            return Row(RowKind.META, f, index=rel - 1)
        starts = layout.hunk_starts
        if rel >= starts[-1]:
            return Row(RowKind.SPACER, f)
        h = bisect_right(starts, rel) - 1
        offset = rel - starts[h]
        if offset == 0:
            return Row(RowKind.HUNK_HEADER, f, h)
        return Row(RowKind.BODY, f, h, offset - 1)

    def hunk_row(self, file_index: int, hunk_index: int) -> int:
        return self.starts[file_index] + self.files[file_index].hunk_starts[hunk_index]

    def hunk_end(self, file_index: int, hunk_index: int) -> int:
        """The last row of a hunk."""
        return self.starts[file_index] + self.files[file_index].hunk_starts[hunk_index + 1] - 1

    def stops(self, file_index: int) -> list[int]:
        """Rows `]`/`[` stop at in a file: hunk headers, or its first line when it has none."""
        layout = self.files[file_index]
        start = self.starts[file_index]
        if layout.hunks:
            return [start + s for s in layout.hunk_starts[:-1]]
        return [start + 1] if layout.meta else [start]

    def next_stop(self, row: int) -> int | None:
        """The first hunk stop after `row`, in this file or a later one."""
        for index in range(self.file_at(row), len(self.files)):
            for stop in self.stops(index):
                if stop > row:
                    return stop
        return None

    def previous_stop(self, row: int) -> int | None:
        """The last hunk stop before `row`."""
        for index in range(self.file_at(row), -1, -1):
            for stop in reversed(self.stops(index)):
                if stop < row:
                    return stop
        return None
