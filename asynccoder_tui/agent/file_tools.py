"""The file tools' work: view, edit by exact unique replacement, create, insert.

Plain synchronous functions over already-confined paths (see `paths.py`); `tools.py` runs them
in a thread. Files are read as bytes and decoded with `surrogateescape`, so an edit rewrites
every byte it did not change exactly as it was, whatever the encoding. Line endings are kept:
in a CRLF file, an `old_str` written with LF still matches and the replacement gets CRLF.
Every failure is a `ToolError` whose message tells the model what to do instead. Only regular
files are read or written: opening a FIFO would block forever, and a device file is no source.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.domain.errors import ToolError

VIEW_MAX_LINES = 500
VIEW_MAX_CHARS = 24_000
LINE_MAX_CHARS = 2_000
EDIT_MAX_BYTES = 10 * 1024 * 1024
BINARY_SNIFF_BYTES = 8192
SNIPPET_CONTEXT = 3


@dataclass(frozen=True)
class FileText:
    text: str
    """Decoded with surrogateescape; LF-only view in `lines`."""
    crlf: bool
    valid_utf8: bool


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def require_regular(path: Path, shown_as: str) -> None:
    """`ToolError` unless `path` is a regular file (FIFOs, devices and sockets are refused)."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise ToolError(f"{shown_as} is {_kind(mode)}, not a regular file; it cannot be opened")


def read_text(path: Path, *, max_bytes: int | None = None) -> FileText:
    """The file's text, or a `ToolError` for directories, binaries and oversized files."""
    if path.is_dir():
        raise ToolError(f"{path.name} is a directory")
    if not path.exists():
        raise ToolError(f"{path.name} does not exist")
    require_regular(path, path.name)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ToolError(
            f"{path.name} is {size} bytes, over the {max_bytes}-byte limit of this tool; "
            "use the run tool (e.g. sed) for files this large"
        )
    data = path.read_bytes()
    if is_binary(data):
        raise ToolError(
            f"{path.name} is a binary file ({size} bytes); it cannot be shown or edited"
        )
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    text = data.decode("utf-8", errors="surrogateescape")
    return FileText(text=text, crlf="\r\n" in text, valid_utf8=valid)


def write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def _display(line: str) -> str:
    shown = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if len(shown) > LINE_MAX_CHARS:
        return shown[:LINE_MAX_CHARS] + f" [... line cut at {LINE_MAX_CHARS} characters]"
    return shown


def numbered(lines: list[str], first: int) -> str:
    return "\n".join(f"{first + i:>6}\t{_display(line)}" for i, line in enumerate(lines))


def _count_lines(path: Path) -> int:
    count = 0
    last = b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk
    return count + (1 if last and not last.endswith(b"\n") else 0)


def view_file(path: Path, shown_as: str, start: int | None, end: int | None) -> str:
    """Numbered lines `start`..`end` (1-based, inclusive) of a text file, capped."""
    require_regular(path, shown_as)
    with path.open("rb") as handle:
        if is_binary(handle.read(BINARY_SNIFF_BYTES)):
            size = path.stat().st_size
            return f"{shown_as} is a binary file ({size} bytes); not shown"
    total = _count_lines(path)
    first = max(1, start or 1)
    if total == 0:
        return f"{shown_as} is empty (0 lines)"
    if first > total:
        raise ToolError(f"start_line {first} is past the end of {shown_as} ({total} lines)")
    last = min(total, end if end and end > 0 else total)
    if last < first:
        raise ToolError(f"end_line {end} is before start_line {first}")
    lines: list[str] = []
    chars = 0
    valid = True
    crlf = False
    capped = False
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number < first:
                continue
            if number > last:
                break
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                valid = False
            crlf = crlf or raw.endswith(b"\r\n")
            line = raw.decode("utf-8", "surrogateescape").rstrip("\n").rstrip("\r")
            chars += min(len(line), LINE_MAX_CHARS) + 8
            if lines and (len(lines) >= VIEW_MAX_LINES or chars > VIEW_MAX_CHARS):
                capped = True
                break
            lines.append(line)
    shown_last = first + len(lines) - 1
    header = f"{shown_as} (lines {first}-{shown_last} of {total}"
    header += ", CRLF line endings)" if crlf else ")"
    notes: list[str] = []
    if not valid:
        notes.append("[not valid UTF-8: undecodable bytes are shown as \ufffd]")
    if capped or shown_last < last:
        notes.append(
            f"[output capped at {len(lines)} lines: call view with start_line={shown_last + 1} "
            "to read on]"
        )
    body = numbered(lines, first)
    return "\n".join([header, body, *notes])


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _loose_pattern(old: str) -> re.Pattern[str] | None:
    """`old` with every run of whitespace made flexible, for the near-miss hint."""
    tokens = [re.escape(token) for token in re.split(r"\s+", old.strip()) if token]
    if not tokens:
        return None
    return re.compile(r"\s+".join(tokens))


def _not_found_message(text: str, old: str, shown_as: str) -> str:
    message = f"old_str was not found in {shown_as}; nothing was changed."
    pattern = _loose_pattern(old)
    if pattern is not None:
        near = [m.start() for m in pattern.finditer(text)][:5]
        if near:
            where = ", ".join(str(_line_of(text, i)) for i in near)
            return (
                f"{message} Text matching it except for whitespace (indentation, tabs vs spaces, "
                f"line breaks) starts at line {where}: view those lines and copy them exactly."
            )
    first_line = next((line.strip() for line in old.splitlines() if line.strip()), "")
    if first_line:
        hits = [i + 1 for i, line in enumerate(text.splitlines()) if first_line in line][:5]
        if hits:
            where = ", ".join(str(h) for h in hits)
            return (
                f"{message} Its first line appears at line {where}, but the following lines "
                "differ: view the file there and copy the current text."
            )
    return f"{message} View the file to see its current content."


def _snippet(text: str, start_line: int, end_line: int) -> str:
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    first = max(1, start_line - SNIPPET_CONTEXT)
    last = min(len(lines), end_line + SNIPPET_CONTEXT)
    return numbered(lines[first - 1 : last], first)


def replace_once(path: Path, shown_as: str, old: str, new: str) -> str:
    """Replace the one occurrence of `old` with `new`; errors name every match or near miss."""
    if old == "":
        raise ToolError("old_str is empty; use insert to add lines or create for a new file")
    if old == new:
        raise ToolError("old_str and new_str are identical; nothing to change")
    content = read_text(path, max_bytes=EDIT_MAX_BYTES)
    text = content.text
    needle, replacement = old, new
    starts = _find_all(text, needle)
    if not starts and content.crlf and "\n" in old and "\r\n" not in old:
        needle = old.replace("\n", "\r\n")
        replacement = new.replace("\r\n", "\n").replace("\n", "\r\n")
        starts = _find_all(text, needle)
    if not starts:
        raise ToolError(_not_found_message(text, old, shown_as))
    if len(starts) > 1:
        lines = ", ".join(str(_line_of(text, i)) for i in starts[:20])
        more = "" if len(starts) <= 20 else f" and {len(starts) - 20} more"
        raise ToolError(
            f"old_str matches {len(starts)} places in {shown_as} (at lines {lines}{more}); "
            "nothing was changed. Include more surrounding lines so it matches exactly once."
        )
    at = starts[0]
    updated = text[:at] + replacement + text[at + len(needle) :]
    write_text(path, updated)
    first = _line_of(updated, at)
    last = first + replacement.count("\n")
    return f"Edited {shown_as} (lines {first}-{last} now read):\n" + _snippet(updated, first, last)


def _find_all(text: str, needle: str) -> list[int]:
    starts: list[int] = []
    index = text.find(needle)
    while index != -1:
        starts.append(index)
        index = text.find(needle, index + 1)
    return starts


def create_file(path: Path, shown_as: str, content: str, overwrite: bool) -> str:
    if path.is_dir():
        raise ToolError(f"{shown_as} is a directory")
    existed = path.exists()
    if existed:
        require_regular(path, shown_as)
    if existed and not overwrite:
        raise ToolError(
            f"{shown_as} already exists; use edit to change it, or create with overwrite=true "
            "to replace it entirely"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, content)
    lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
    verb = "Replaced" if existed else "Created"
    return f"{verb} {shown_as} ({lines} lines)"


def insert_lines(path: Path, shown_as: str, after_line: int, text: str) -> str:
    """Insert `text` after line `after_line` (0 inserts at the top)."""
    content = read_text(path, max_bytes=EDIT_MAX_BYTES)
    newline = "\r\n" if content.crlf else "\n"
    lines = content.text.splitlines(keepends=True)
    if after_line < 0 or after_line > len(lines):
        raise ToolError(
            f"line {after_line} is out of range: {shown_as} has {len(lines)} lines "
            "(use 0 to insert at the top)"
        )
    block = text.replace("\r\n", "\n").replace("\n", newline)
    if not block.endswith(newline):
        block += newline
    if after_line == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines[after_line:after_line] = [block]
    updated = "".join(lines)
    write_text(path, updated)
    added = block.count(newline)
    return f"Inserted {added} lines into {shown_as} after line {after_line}:\n" + _snippet(
        updated, after_line + 1, after_line + added
    )
