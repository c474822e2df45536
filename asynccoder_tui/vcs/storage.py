"""Telling why a folder cannot be written to: the disk is full, the file system is read-only,
or writing there is not permitted.

Git reports a full disk as "unable to write file" and a read-only store as "unable to create
temporary file"; `storage_problem` looks at the folder itself so the message can name the
cause. It only inspects (`statvfs`, and creating and removing one empty probe file).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

MIN_FREE_BYTES = 1 << 20
"""Less free space than this counts as a full disk."""


def _existing(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def storage_problem(folder: Path, *, min_free: int = MIN_FREE_BYTES) -> str | None:
    """Why `folder` (or its nearest existing parent) cannot take new files, or None."""
    target = _existing(folder)
    try:
        info = os.statvfs(target)
    except OSError as err:
        return f"cannot inspect {target}: {err.strerror or err}"
    if info.f_flag & os.ST_RDONLY:
        return f"{target} is on a read-only file system"
    free = info.f_bavail * info.f_frsize
    if free < min_free:
        return f"the disk holding {target} is full ({free // 1024} KiB free)"
    if target.is_dir():
        try:
            fd, name = tempfile.mkstemp(dir=target, prefix=".asynccoder-probe-")
        except OSError as err:
            return f"cannot write in {target}: {err.strerror or err}"
        os.close(fd)
        os.unlink(name)
    return None


def first_problem(folders: Iterable[Path]) -> str | None:
    """The storage problem of the first folder that has one."""
    for folder in folders:
        problem = storage_problem(folder)
        if problem is not None:
            return problem
    return None
