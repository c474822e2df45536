"""Content fingerprints of a workspace's changed files, for "reviewed" marks that go stale.

A fingerprint is a SHA-256 over what a reviewer saw of the file's change: its kind, its old
path (a rename), its new mode and its bytes now (a symlink's target, not what it points at).
Any later edit of the file gives another fingerprint. Files are read in a thread; nothing is
followed out of the workspace: a path whose folders leave the root fingerprints as "outside".
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from asynccoder_tui.vcs.diff import ChangeKind, FileChange

_CHUNK = 1 << 20


def _content_digest(root: Path, rel: str, digest: hashlib._Hash) -> None:
    target = root / rel
    try:
        if not target.parent.resolve().is_relative_to(root.resolve()):
            digest.update(b"outside")
            return
        info = os.lstat(target)
    except OSError:
        digest.update(b"missing")
        return
    if stat.S_ISLNK(info.st_mode):
        digest.update(b"link\0" + os.fsencode(os.readlink(target)))
    elif stat.S_ISREG(info.st_mode):
        digest.update(b"file\0")
        with open(target, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    else:  # a nested repository (submodule link) or something stranger: its kind only
        digest.update(f"mode {stat.S_IFMT(info.st_mode):o}".encode())


def file_fingerprint(root: Path, change: FileChange) -> str:
    """The fingerprint of one changed file of the workspace at `root` (blocking: reads it)."""
    digest = hashlib.sha256()
    digest.update(
        f"{change.kind.value}\0{change.old_path or ''}\0{change.new_mode or ''}\0".encode()
    )
    if change.kind is ChangeKind.DELETED:
        digest.update(b"deleted")
    else:
        _content_digest(root, change.path, digest)
    return digest.hexdigest()[:32]


async def file_fingerprints(root: Path, changes: Iterable[FileChange]) -> dict[str, str]:
    """Fingerprints of `changes` by path, read in a thread."""
    listed = list(changes)
    return await asyncio.to_thread(lambda: {c.path: file_fingerprint(root, c) for c in listed})
