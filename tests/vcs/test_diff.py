"""The diff model against real git: kinds of change, stats, hunks, and reverts."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from asynccoder_tui.domain.errors import ConflictError, InputError, WorkspaceError
from asynccoder_tui.vcs import review
from asynccoder_tui.vcs.diff import ChangeKind, parse_raw
from asynccoder_tui.vcs.spec import RepoSpec, Workspace
from asynccoder_tui.vcs.workspace import WorkspaceManager

from .conftest import commit_all, git

BINARY = bytes(range(256)) * 4
LATIN1 = "caf\xe9 cr\xe8me\n".encode("latin-1")


@pytest.fixture
def rich_origin(origin: Path, seed: Path) -> Path:
    """Add to `main` the files the tests change: a script, a binary, non-UTF-8 text..."""
    git(seed, "checkout", "-q", "main")
    (seed / "run.sh").write_text("#!/bin/sh\necho run\n")
    (seed / "logo.bin").write_bytes(BINARY)
    (seed / "latin1.txt").write_bytes(LATIN1)
    (seed / "old name.txt").write_text("".join(f"keep {i}\n" for i in range(20)))
    (seed / "gone.txt").write_text("to be deleted\n")
    (seed / "docs").mkdir()
    (seed / "docs" / "guide.md").write_text("".join(f"para {i}\n" for i in range(1, 41)))
    commit_all(seed, "more files")
    git(seed, "push", "-q", "origin", "main")
    return origin


@pytest.fixture
async def ws(manager: WorkspaceManager, github_spec: RepoSpec, rich_origin: Path) -> Workspace:
    return await manager.prepare(github_spec, task_id="t1", slug="diff")


def edit_everything(root: Path) -> None:
    (root / "brand new.txt").write_text("hello\nworld\n")  # untracked, with a space
    (root / "gone.txt").unlink()
    os.rename(root / "old name.txt", root / "nouveau nom é.txt")  # rename with unicode
    (root / "logo.bin").write_bytes(BINARY[::-1])
    (root / "run.sh").chmod(0o755)
    (root / "latin1.txt").write_bytes(LATIN1 + "na\xefve\n".encode("latin-1"))
    (root / os.fsdecode(b"raw-\xff-name.txt")).write_bytes(b"odd name\n")


async def test_diff_lists_every_kind_of_change_with_stats(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    edit_everything(ws.path)
    fast = await manager.diff_files(ws)
    assert all(c.added is None for c in fast), "the fast listing reads no content"
    changes = {c.path: c for c in await manager.diff_files(ws, stats=True)}
    assert set(changes) == {
        "brand new.txt", "gone.txt", "nouveau nom é.txt", "logo.bin", "run.sh", "latin1.txt",
        os.fsdecode(b"raw-\xff-name.txt"),
    }  # fmt: skip
    assert changes["brand new.txt"].kind is ChangeKind.ADDED
    assert (changes["brand new.txt"].added, changes["brand new.txt"].removed) == (2, 0)
    assert changes["gone.txt"].kind is ChangeKind.DELETED
    assert (changes["gone.txt"].added, changes["gone.txt"].removed) == (0, 1)
    renamed = changes["nouveau nom é.txt"]
    assert renamed.kind is ChangeKind.RENAMED and renamed.old_path == "old name.txt"
    assert renamed.similarity == 100 and (renamed.added, renamed.removed) == (0, 0)
    assert changes["logo.bin"].binary is True
    assert changes["run.sh"].mode_changed
    assert (changes["run.sh"].old_mode, changes["run.sh"].new_mode) == ("100644", "100755")
    assert (changes["latin1.txt"].added, changes["latin1.txt"].removed) == (1, 0)

    stats = await manager.diff_stats(ws)
    assert stats.files_changed == 7
    assert (stats.added, stats.removed) == (2 + 1 + 1, 1)


async def test_hunks_are_read_per_file_and_keep_non_utf8_bytes(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    edit_everything(ws.path)
    latin = await manager.file_hunks(ws, "latin1.txt")
    assert len(latin.hunks) == 1
    assert latin.hunks[0].lines[-1] == "+na\ufffdve"
    assert b"+na\xefve\n" in latin.hunks[0].raw

    binary = await manager.file_hunks(ws, "logo.bin")
    assert binary.binary and binary.hunks == []

    renamed = await manager.file_hunks(ws, "old name.txt")
    assert renamed.path == "nouveau nom é.txt" and renamed.old_path == "old name.txt"

    added = await manager.file_hunks(ws, "brand new.txt")
    assert added.new_file and added.hunks[0].lines == ["+hello", "+world"]

    with pytest.raises(InputError, match="has no changes"):
        await manager.file_hunks(ws, "README.md")

    for change in await manager.diff_files(ws):
        by_change = await manager.file_hunks(ws, change)
        by_path = await manager.file_hunks(ws, change.path)
        assert by_change == by_path and by_change.path == change.path
        assert by_change.binary or by_change.hunks or change.mode_changed or change.similarity

    text = await manager.full_diff_text(ws)
    assert "diff --git a/gone.txt b/gone.txt" in text
    assert "Binary files a/logo.bin and b/logo.bin differ" in text
    assert "old mode 100644\nnew mode 100755" in text
    assert "rename from old name.txt" in text


async def test_touching_a_file_without_changing_it_is_not_a_change(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    target = ws.path / "docs" / "guide.md"
    target.write_text(target.read_text())
    os.utime(target, (1, 1))
    assert await manager.diff_files(ws) == []


async def test_revert_one_hunk_keeps_the_others(manager: WorkspaceManager, ws: Workspace) -> None:
    guide = ws.path / "docs" / "guide.md"
    lines = guide.read_text().splitlines(keepends=True)
    lines[1] = "para 2 edited\n"
    lines[30] = "para 31 edited\n"
    guide.write_text("".join(lines))
    diff = await manager.file_hunks(ws, "docs/guide.md")
    assert len(diff.hunks) == 2

    await manager.revert_hunk(ws, "docs/guide.md", 0, expected_id=diff.hunks[0].id)
    text = guide.read_text()
    assert "para 2\n" in text and "para 2 edited" not in text
    assert "para 31 edited\n" in text
    after = await manager.file_hunks(ws, "docs/guide.md")
    assert len(after.hunks) == 1 and after.hunks[0].id == diff.hunks[1].id


async def test_revert_hunk_refuses_a_stale_view(manager: WorkspaceManager, ws: Workspace) -> None:
    guide = ws.path / "docs" / "guide.md"
    guide.write_text(guide.read_text().replace("para 5\n", "para 5 v1\n"))
    shown = await manager.file_hunks(ws, "docs/guide.md")
    guide.write_text(guide.read_text().replace("para 5 v1\n", "para 5 v2\n"))
    with pytest.raises(ConflictError):
        await manager.revert_hunk(ws, "docs/guide.md", 0, expected_id=shown.hunks[0].id)
    with pytest.raises(InputError, match="no hunk 3"):
        await manager.revert_hunk(ws, "docs/guide.md", 2)
    assert "para 5 v2" in guide.read_text()


async def test_revert_hunks_of_new_deleted_and_unicode_files(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    edit_everything(ws.path)
    await manager.revert_hunk(ws, "brand new.txt", 0)
    assert not (ws.path / "brand new.txt").exists()
    await manager.revert_hunk(ws, "gone.txt", 0)
    assert (ws.path / "gone.txt").read_text() == "to be deleted\n"
    await manager.revert_hunk(ws, "latin1.txt", 0)
    assert (ws.path / "latin1.txt").read_bytes() == LATIN1
    with pytest.raises(InputError, match="binary"):
        await manager.revert_hunk(ws, "logo.bin", 0)
    remaining = {c.path for c in await manager.diff_files(ws)}
    assert remaining == {
        "nouveau nom é.txt", "logo.bin", "run.sh", os.fsdecode(b"raw-\xff-name.txt")
    }  # fmt: skip


async def test_revert_whole_files_of_every_kind(manager: WorkspaceManager, ws: Workspace) -> None:
    edit_everything(ws.path)
    for path in [
        "brand new.txt", "gone.txt", "nouveau nom é.txt", "logo.bin", "run.sh", "latin1.txt",
        os.fsdecode(b"raw-\xff-name.txt"),
    ]:  # fmt: skip
        await manager.revert_file(ws, path)
    assert await manager.diff_files(ws) == []
    assert (ws.path / "old name.txt").is_file() and not (ws.path / "nouveau nom é.txt").exists()
    assert (ws.path / "logo.bin").read_bytes() == BINARY
    assert os.stat(ws.path / "run.sh").st_mode & 0o111 == 0


async def test_reverts_never_write_through_a_symlink_leading_outside(
    manager: WorkspaceManager, ws: Workspace, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "guide.md").write_text("not the workspace's\n")
    # The agent swaps the docs folder for a symlink to a folder outside the workspace.
    for child in (ws.path / "docs").iterdir():
        child.unlink()
    (ws.path / "docs").rmdir()
    (ws.path / "docs").symlink_to(outside)
    kinds = {c.path: c.kind for c in await manager.diff_files(ws)}
    assert kinds == {"docs": ChangeKind.ADDED, "docs/guide.md": ChangeKind.DELETED}

    with pytest.raises(WorkspaceError, match="outside the workspace"):
        await manager.revert_file(ws, "docs/guide.md")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        await manager.revert_hunk(ws, "docs/guide.md", 0)
    assert (outside / "guide.md").read_text() == "not the workspace's\n"

    await manager.revert_file(ws, "docs")  # removes the symlink itself, not its target
    await manager.revert_file(ws, "docs/guide.md")
    assert (ws.path / "docs" / "guide.md").read_text().startswith("para 1\n")
    assert (outside / "guide.md").read_text() == "not the workspace's\n"
    assert await manager.diff_files(ws) == []


async def test_committed_changes_stay_in_the_diff_against_the_base(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    (ws.path / "docs" / "guide.md").write_text("rewritten\n")
    await manager.commit(ws, "rewrite guide", model_name="m")
    (ws.path / "later.txt").write_text("after the commit\n")
    changes = {c.path: c for c in await manager.diff_files(ws, stats=True)}
    assert set(changes) == {"docs/guide.md", "later.txt"}
    assert changes["docs/guide.md"].removed == 40
    await manager.revert_file(ws, "docs/guide.md")
    assert (ws.path / "docs" / "guide.md").read_text().startswith("para 1\n")


async def test_same_size_rewrite_in_the_second_of_the_last_index_write_is_seen(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    """Racy git: the private index copy must keep the index's timestamp, or git trusts a stat
    that matches although the content changed."""
    logo = ws.path / "logo.bin"
    await asyncio.sleep(1 - time.time() % 1 + 0.01)  # just after a second boundary
    logo.write_bytes(BINARY)
    git(ws.path, "update-index", "-q", "--refresh")  # the index caches this very stat
    logo.write_bytes(BINARY[::-1])  # same size, same second
    await asyncio.sleep(1.1)  # the listing happens a second later
    assert [c.path for c in await manager.diff_files(ws)] == ["logo.bin"]


async def test_untracked_files_are_listed_as_git_would_record_them(
    manager: WorkspaceManager, ws: Workspace
) -> None:
    """Without deletions, new files are listed from `ls-files` and lstat, not a second diff:
    the result must match what git says once they are intent-to-add."""
    (ws.path / "tool.sh").write_text("#!/bin/sh\n")
    (ws.path / "tool.sh").chmod(0o755)
    (ws.path / "link").symlink_to("README.md")
    (ws.path / "new dir").mkdir()
    (ws.path / "new dir" / "é.txt").write_text("x\n")
    (ws.path / "README.md").write_text("edited\n")
    git(ws.path, "init", "-q", "vendored")
    (ws.path / "vendored" / "f").write_text("f\n")
    git(ws.path / "vendored", "add", "f")
    git(ws.path / "vendored", "commit", "-q", "-m", "v")

    fast = await manager.diff_files(ws)
    repo_git = review.workspace_git(ws)
    async with review.snapshot_index(ws, repo_git) as env:
        out = await repo_git.run("diff", "--raw", "-z", "-M", ws.base_sha, env=env)
    expected = sorted(parse_raw(out.stdout), key=lambda c: c.path)
    assert fast == expected
    modes = {c.path: c.new_mode for c in fast}
    assert modes == {
        "README.md": "100644", "link": "120000", "new dir/é.txt": "100644",
        "tool.sh": "100755", "vendored": "160000",
    }  # fmt: skip
