"""Git repositories an agent made inside its workspace (a `git init`, a clone of a dependency).

`git ls-files --others` lists such a folder as one entry ending in `/`. Git records a nested
repository with a checked-out commit as a submodule link; one without a commit yet cannot be
recorded at all, and `git add` of it fails the whole command ("does not have a commit checked
out"). `split_untracked` sets those apart so diffs and commits can leave them out (they stay in
the workspace). The check reads the nested repository's files; it runs no git in it (its
configuration is the agent's).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_OBJECT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _git_dir(folder: Path) -> Path | None:
    dot_git = folder / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():
        text = dot_git.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text.removeprefix("gitdir:").strip())
            return target if target.is_absolute() else folder / target
    return None


def has_commit(folder: Path) -> bool:
    """True when the repository in `folder` has a commit checked out (or we cannot tell)."""
    try:
        git_dir = _git_dir(folder)
        if git_dir is None:
            return True
        head = (git_dir / "HEAD").read_text(errors="replace").strip()
        if not head.startswith("ref:"):
            return bool(_OBJECT_ID.match(head))
        ref = head.removeprefix("ref:").strip()
        if (git_dir / ref).is_file():
            return True
        packed = git_dir / "packed-refs"
        if packed.is_file():
            return any(line.endswith(f" {ref}") for line in packed.read_text().splitlines())
        return False
    except OSError:
        return True


def split_untracked(root: Path, raw: bytes) -> tuple[list[bytes], list[bytes]]:
    """(entries git can add, nested repositories without a commit) of `ls-files -z` output."""
    addable: list[bytes] = []
    unborn: list[bytes] = []
    for entry in raw.split(b"\0"):
        if not entry:
            continue
        if entry.endswith(b"/") and not has_commit(root / os.fsdecode(entry)):
            unborn.append(entry)
        else:
            addable.append(entry)
    return addable, unborn
