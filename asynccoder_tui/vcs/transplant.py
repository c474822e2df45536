"""Taking a change from one workspace into another: one hunk, or one file's whole patch, of a
sibling workspace's diff applied to this workspace's working tree with `git apply`.

The patch is checked first (`git apply --check`), and `git apply` itself applies all of a
patch or none of it, so a hunk that does not fit leaves the workspace exactly as it was and
the error says why. Only the working tree changes (as a reviewer's revert does); git refuses a
path that leads out of the workspace through a symlink.
"""

from __future__ import annotations

from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.vcs.diff import FileDiff, Hunk, reverse_patch_for_hunk
from asynccoder_tui.vcs.git import Git

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}


def hunk_patch(diff: FileDiff, hunk: Hunk) -> bytes:
    """A patch holding only `hunk` of `diff`, to apply forwards elsewhere."""
    # The revert machinery builds exactly this patch (and applies it with -R).
    return reverse_patch_for_hunk(diff, hunk)


def file_patch(diff: FileDiff) -> bytes:
    """A patch holding every hunk of `diff` (a text file's whole change)."""
    if diff.binary or not diff.hunks:
        raise InputError(
            f"{diff.path} has no text hunks to take (a binary or mode-only change)",
            hint="copy the file by hand",
        )
    rest = b"".join(h.raw if h.raw.endswith(b"\n") else h.raw + b"\n" for h in diff.hunks[1:])
    return hunk_patch(diff, diff.hunks[0]) + rest


async def apply_patch(git: Git, patch: bytes, what: str) -> None:
    """Apply `patch` to the work tree of `git`, or raise `ConflictError` changing nothing."""
    args = ("apply", "--whitespace=nowarn")
    check = await git.run(*args, "--check", "-", input=patch, check=False, env=_LITERAL)
    if not check.ok:
        said = check.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = "; ".join(line.removeprefix("error: ") for line in said[:4]) or "git refused it"
        raise ConflictError(
            f"{what} does not apply here: {detail}. Nothing was changed.",
            hint="the attempts changed the same lines differently; edit the file by hand",
        )
    await git.run(*args, "-", input=patch, env=_LITERAL, hint="the files changed meanwhile")
