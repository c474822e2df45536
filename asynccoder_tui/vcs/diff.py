"""The diff model: changed files, per-file stats, hunks, and the parsers that build them.

Everything here parses the machine output of git (`--raw -z`, `--numstat -z`, one file's
patch) into frozen dataclasses (a listing of thousands of files must not spend its time in
model validation); it runs nothing. Paths are `os.fsdecode`d so that non-UTF-8 names
round-trip to the file system; hunk lines are decoded for display while each hunk keeps its
exact bytes, which is what a revert applies.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum


class ChangeKind(StrEnum):
    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"
    RENAMED = "renamed"
    COPIED = "copied"
    TYPE_CHANGED = "type_changed"


_STATUS = {
    "A": ChangeKind.ADDED,
    "D": ChangeKind.DELETED,
    "M": ChangeKind.MODIFIED,
    "R": ChangeKind.RENAMED,
    "C": ChangeKind.COPIED,
    "T": ChangeKind.TYPE_CHANGED,
}


@dataclass(frozen=True, slots=True)
class FileChange:
    """One changed file of a workspace against its base."""

    path: str
    """Path in the workspace (the new path of a rename)."""
    kind: ChangeKind
    old_path: str | None = None
    """Path at the base, for renames and copies."""
    old_mode: str | None = None
    new_mode: str | None = None
    similarity: int | None = None
    binary: bool | None = None
    """None until stats are known."""
    added: int | None = None
    removed: int | None = None

    @property
    def mode_changed(self) -> bool:
        return (
            self.old_mode is not None
            and self.new_mode is not None
            and self.old_mode != self.new_mode
        )

    @property
    def display_path(self) -> str:
        if self.old_path and self.old_path != self.path:
            return f"{self.old_path} → {self.path}"
        return self.path


@dataclass(frozen=True, slots=True)
class FileStat:
    path: str
    old_path: str | None = None
    added: int = 0
    removed: int = 0
    binary: bool = False


@dataclass(frozen=True, slots=True)
class DiffStats:
    """Per-file +/- counts and totals."""

    files: list[FileStat] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        return sum(f.removed for f in self.files)

    @property
    def files_changed(self) -> int:
        return len(self.files)

    def for_path(self, path: str) -> FileStat | None:
        for stat in self.files:
            if stat.path == path:
                return stat
        return None


@dataclass(frozen=True, slots=True)
class Hunk:
    """One `@@` hunk of a file's diff."""

    index: int
    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[str]
    """The hunk's body lines, each starting with ' ', '+', '-' or '\\'."""
    raw: bytes
    """Exact bytes of the hunk (header included), as git printed them."""
    id: str
    """A digest of `raw`: changes when the hunk changes (stale-view detection)."""

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.startswith("+"))

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.startswith("-"))


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file's diff: its header lines and hunks (none for binary or mode-only changes)."""

    path: str
    old_path: str | None = None
    header: list[str] = field(default_factory=list)
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False
    new_file: bool = False
    deleted_file: bool = False
    old_mode: str | None = None
    new_mode: str | None = None


def _fs(raw: bytes) -> str:
    return os.fsdecode(raw)


def parse_raw(output: bytes) -> list[FileChange]:
    """Parse `git diff --raw -z` output."""
    fields = output.split(b"\0")
    changes: list[FileChange] = []
    i = 0
    while i < len(fields):
        meta = fields[i]
        if not meta:
            i += 1
            continue
        if not meta.startswith(b":"):
            raise ValueError(f"unexpected raw diff record {meta[:80]!r}")
        old_mode, new_mode, _old_sha, _new_sha, status = meta[1:].decode("ascii").split(" ")
        letter = status[0]
        score = int(status[1:]) if len(status) > 1 and status[1:].isdigit() else None
        if letter in ("R", "C"):
            old_path, new_path = _fs(fields[i + 1]), _fs(fields[i + 2])
            i += 3
        else:
            old_path, new_path = None, _fs(fields[i + 1])
            i += 2
        kind = _STATUS.get(letter, ChangeKind.MODIFIED)
        changes.append(
            FileChange(
                path=new_path,
                old_path=old_path,
                kind=kind,
                old_mode=None if old_mode == "000000" else old_mode,
                new_mode=None if new_mode == "000000" else new_mode,
                similarity=score,
            )
        )
    return changes


def parse_numstat(output: bytes) -> DiffStats:
    """Parse `git diff --numstat -z` output (binary files count as 0/0 and are flagged)."""
    fields = output.split(b"\0")
    stats: list[FileStat] = []
    i = 0
    while i < len(fields):
        record = fields[i]
        if not record:
            i += 1
            continue
        added_s, removed_s, rest = record.split(b"\t", 2)
        if rest:
            old_path, path = None, _fs(rest)
            i += 1
        else:
            old_path, path = _fs(fields[i + 1]), _fs(fields[i + 2])
            i += 3
        binary = added_s == b"-"
        stats.append(
            FileStat(
                path=path,
                old_path=old_path,
                added=0 if binary else int(added_s),
                removed=0 if binary else int(removed_s),
                binary=binary,
            )
        )
    return DiffStats(files=stats)


def with_stats(changes: list[FileChange], stats: DiffStats) -> list[FileChange]:
    """`changes` with added/removed/binary filled in from `stats`."""
    by_path = {s.path: s for s in stats.files}
    merged: list[FileChange] = []
    for change in changes:
        stat = by_path.get(change.path)
        if stat is None:
            merged.append(change)
            continue
        merged.append(replace(change, added=stat.added, removed=stat.removed, binary=stat.binary))
    return merged


_HUNK_HEADER = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_file_patch(output: bytes, path: str, old_path: str | None = None) -> FileDiff:
    """Parse the patch of one file (`git diff ... -- <path>`) into header and hunks."""
    lines = output.splitlines(keepends=True)
    header: list[str] = []
    hunks: list[Hunk] = []
    binary = new_file = deleted_file = False
    old_mode: str | None = None
    new_mode: str | None = None
    i = 0
    while i < len(lines) and not lines[i].startswith(b"@@"):
        line = lines[i]
        text = line.decode("utf-8", errors="replace").rstrip("\n")
        header.append(text)
        if line.startswith(b"Binary files ") or line.startswith(b"GIT binary patch"):
            binary = True
        elif line.startswith(b"new file mode "):
            new_file = True
            new_mode = text.rsplit(" ", 1)[-1]
        elif line.startswith(b"deleted file mode "):
            deleted_file = True
            old_mode = text.rsplit(" ", 1)[-1]
        elif line.startswith(b"old mode "):
            old_mode = text.rsplit(" ", 1)[-1]
        elif line.startswith(b"new mode "):
            new_mode = text.rsplit(" ", 1)[-1]
        elif line.startswith(b"index ") and " " in text[6:]:
            mode = text.rsplit(" ", 1)[-1]
            old_mode = old_mode or mode
            new_mode = new_mode or mode
        i += 1
    while i < len(lines):
        start = i
        match = _HUNK_HEADER.match(lines[i])
        if match is None:
            i += 1
            continue
        i += 1
        while i < len(lines) and not lines[i].startswith(b"@@"):
            if lines[i].startswith(b"diff --git "):
                break
            i += 1
        raw = b"".join(lines[start:i])
        body = [ln.decode("utf-8", errors="replace").rstrip("\r\n") for ln in lines[start + 1 : i]]
        hunks.append(
            Hunk(
                index=len(hunks),
                header=lines[start].decode("utf-8", errors="replace").rstrip("\n"),
                old_start=int(match.group(1)),
                old_count=int(match.group(2)) if match.group(2) is not None else 1,
                new_start=int(match.group(3)),
                new_count=int(match.group(4)) if match.group(4) is not None else 1,
                lines=body,
                raw=raw,
                id=hashlib.sha256(raw).hexdigest()[:16],
            )
        )
        if i < len(lines) and lines[i].startswith(b"diff --git "):
            break
    return FileDiff(
        path=path,
        old_path=old_path,
        header=header,
        hunks=hunks,
        binary=binary,
        new_file=new_file,
        deleted_file=deleted_file,
        old_mode=old_mode,
        new_mode=new_mode,
    )


def quote_path(prefix: str, path: str) -> bytes:
    """`prefix + path` C-quoted the way git writes and reads quoted names in patch headers."""
    out = bytearray(b'"')
    specials = {
        0x07: b"\\a",
        0x08: b"\\b",
        0x09: b"\\t",
        0x0A: b"\\n",
        0x0B: b"\\v",
        0x0C: b"\\f",
        0x0D: b"\\r",
        0x22: b'\\"',
        0x5C: b"\\\\",
    }
    for byte in (prefix + path).encode("utf-8", "surrogateescape"):
        if byte in specials:
            out += specials[byte]
        elif byte < 0x20 or byte >= 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)


def reverse_patch_for_hunk(diff: FileDiff, hunk: Hunk) -> bytes:
    """A patch holding only `hunk` of `diff`, to be applied with `git apply -R`.

    A new file's only hunk reverts by deleting the file; a deleted file's by restoring it; in
    every other case the hunk is applied to the current path alone, so a rename or a mode
    change around it stays as it is.
    """
    if diff.new_file:
        mode = (diff.new_mode or "100644").encode()
        head = (
            b"diff --git "
            + quote_path("a/", diff.path)
            + b" "
            + quote_path("b/", diff.path)
            + b"\n"
            b"new file mode " + mode + b"\n"
            b"--- /dev/null\n"
            b"+++ " + quote_path("b/", diff.path) + b"\n"
        )
    elif diff.deleted_file:
        mode = (diff.old_mode or "100644").encode()
        head = (
            b"diff --git "
            + quote_path("a/", diff.path)
            + b" "
            + quote_path("b/", diff.path)
            + b"\n"
            b"deleted file mode " + mode + b"\n"
            b"--- " + quote_path("a/", diff.path) + b"\n"
            b"+++ /dev/null\n"
        )
    else:
        head = (
            b"diff --git "
            + quote_path("a/", diff.path)
            + b" "
            + quote_path("b/", diff.path)
            + b"\n"
            b"--- " + quote_path("a/", diff.path) + b"\n"
            b"+++ " + quote_path("b/", diff.path) + b"\n"
        )
    raw = hunk.raw if hunk.raw.endswith(b"\n") else hunk.raw + b"\n"
    return head + raw
