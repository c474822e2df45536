"""Removing one worktree: its folder and git's record of it, and nothing else.

No blanket `git worktree prune`: in a local repository that would also drop the records of
the user's own worktrees whose folders are away (an unmounted drive), which is not ours to do.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path
from typing import Any

from asynccoder_tui.vcs.git import Git

log = logging.getLogger(__name__)


async def drop_worktree(repo_git: Git, path: Path) -> None:
    """Delete the worktree at `path` (uncommitted work included) and unregister it."""
    await repo_git.run("worktree", "remove", "--force", "--force", str(path), check=False)
    if await asyncio.to_thread(_present, path):
        await asyncio.to_thread(rmtree, path)
        # With the folder gone, this clears git's record of it.
        await repo_git.run("worktree", "remove", "--force", "--force", str(path), check=False)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def rmtree(path: Path) -> None:
    """Delete a folder even where a tool left read-only files or folders in it."""
    if not _present(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return

    def onerror(func: Any, name: str, _exc: Any) -> None:
        target = Path(name)
        try:
            target.parent.chmod(0o700)
            if not target.is_symlink():
                target.chmod(0o700)
            func(name)
        except OSError:
            log.warning("cannot delete %s", name)

    shutil.rmtree(path, onerror=onerror)
