"""Confining the agent's paths to its workspace.

`resolve_in_workspace` is the one gate every tool passes a model-supplied path through. It
refuses absolute paths, `..` that climbs out of the root, symlinks (at any depth) that lead out,
anything inside a `.git` directory or file, and NUL bytes. Everything it returns is an absolute,
symlink-free path under the resolved root; `display_path` turns it back into the
workspace-relative form shown to the model.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from asynccoder_tui.domain.errors import ToolError


def workspace_root(root: Path | str) -> Path:
    """The canonical (symlink-free) workspace root; it must be an existing directory."""
    resolved = Path(root).resolve()
    if not resolved.is_dir():
        raise ToolError(f"workspace {root} is not a directory")
    return resolved


def resolve_in_workspace(root: Path, raw: str, *, allow_root: bool = True) -> Path:
    """The absolute path `raw` names inside `root`, or a `ToolError` saying why not.

    `root` must already be canonical (see `workspace_root`).
    """
    if not isinstance(raw, str) or raw.strip() == "":
        raise ToolError("a path is required (relative to the workspace root, e.g. 'src/app.py')")
    if "\x00" in raw:
        raise ToolError("path contains a NUL byte")
    text = raw.strip()
    if text.startswith("~"):
        raise ToolError(f"'{raw}': home-directory paths are outside the workspace")
    if os.path.isabs(text) or PurePosixPath(text).is_absolute():
        raise ToolError(f"'{raw}' is an absolute path; use a path relative to the workspace root")
    parts = PurePosixPath(text.replace("\\", "/")).parts
    depth = 0
    for part in parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ToolError(f"'{raw}' leads outside the workspace ('..' above the root)")
        elif part not in (".", ""):
            depth += 1
    if any(part == ".git" for part in parts):
        raise ToolError(f"'{raw}' is inside .git; git internals are off limits")
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve()
    except RuntimeError:  # Python 3.11 reports a symlink loop this way (3.13: OSError)
        raise ToolError(f"'{raw}' is a symlink loop; it leads nowhere") from None
    except OSError as err:
        if err.errno == 40:  # ELOOP
            raise ToolError(f"'{raw}' is a symlink loop; it leads nowhere") from None
        raise ToolError(f"'{raw}' cannot be resolved: {err.strerror or err}") from None
    try:
        relative = resolved.relative_to(root)
    except ValueError:
        raise ToolError(f"'{raw}' resolves outside the workspace (through a symlink)") from None
    if any(part == ".git" for part in relative.parts):
        raise ToolError(f"'{raw}' resolves into .git; git internals are off limits")
    if not allow_root and resolved == root:
        raise ToolError(f"'{raw}' is the workspace root; name a file")
    return resolved


def display_path(root: Path, path: Path) -> str:
    """`path` relative to the workspace root, with forward slashes ('.' for the root)."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return str(path)
    text = relative.as_posix()
    return text or "."
