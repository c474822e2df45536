"""Reviewed marks: saved by task, path and content fingerprint; a mark holds while the file is
as it was when marked, goes stale when the file changes, holds again if the content returns;
unmarking takes back every mark of the file. Fingerprints never leave the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asynccoder_tui.db import review_marks
from asynccoder_tui.domain.errors import InputError, NotFoundError
from asynccoder_tui.services import review
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.diff import ChangeKind, FileChange
from asynccoder_tui.vcs.fingerprint import file_fingerprint
from tests.services.test_review import _completed_task, github

__all__ = ["github"]


async def test_marks_hold_go_stale_and_come_back(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        changes = await review.changed_files(ctx, task.id)
        assert [c.path for c in changes] == ["README.md"]
        states = await review.review_states(ctx, task.id, changes)
        first = states["README.md"]
        assert not first.reviewed and not first.stale

        marked = await review.mark_reviewed(ctx, task.id, "README.md")
        assert marked == first.fingerprint
        await review.mark_reviewed(ctx, task.id, "README.md", fingerprint=marked)  # idempotent
        assert len(await review.list_review_marks(ctx, task.id)) == 1
        assert (await review.review_states(ctx, task.id, changes))["README.md"].reviewed

        ws = await review.task_workspace(ctx, task)
        readme = ws.path / "README.md"
        reviewed_text = readme.read_text()
        readme.write_text(reviewed_text + "one more line\n")
        later = (await review.review_states(ctx, task.id, changes))["README.md"]
        assert later.stale and not later.reviewed and later.fingerprint != marked

        await review.mark_reviewed(ctx, task.id, "README.md", fingerprint=later.fingerprint)
        assert (await review.review_states(ctx, task.id, changes))["README.md"].reviewed
        readme.write_text(reviewed_text)  # back to the content first reviewed: its mark holds
        back = (await review.review_states(ctx, task.id, changes))["README.md"]
        assert back.reviewed and back.fingerprint == marked

        assert await review.unmark_reviewed(ctx, task.id, "README.md") == 2
        assert await review.list_review_marks(ctx, task.id) == []
        gone = (await review.review_states(ctx, task.id, changes))["README.md"]
        assert not gone.reviewed and not gone.stale

        with pytest.raises(InputError):
            await review.mark_reviewed(ctx, task.id, "not/changed.txt")
        with pytest.raises(InputError):
            await review.mark_reviewed(ctx, task.id, "bad\x00path", fingerprint="abc")
    finally:
        await ctx.close()


async def test_marks_of_another_users_task_are_refused(
    tmp_path, db_url, home, github, make_repo
) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        other = await ctx.db.pool.fetchval(
            "INSERT INTO users (username, db_role) VALUES ('other', 'other_role') RETURNING id"
        )
        stranger = AppContext(ctx.settings, ctx.db, ctx.user.model_copy(update={"id": other}))
        with pytest.raises(NotFoundError):
            await review.mark_reviewed(stranger, task.id, "README.md", fingerprint="abc")
        with pytest.raises(NotFoundError):
            await review.list_review_marks(stranger, task.id)
        with pytest.raises(NotFoundError):
            await review.unmark_reviewed(stranger, task.id, "README.md")
        assert await review.list_review_marks(ctx, task.id) == []
    finally:
        await ctx.close()


async def test_marks_go_with_their_task(tmp_path, db_url, home, github, make_repo) -> None:
    ctx, _root, _origin, task = await _completed_task(tmp_path, db_url, github, make_repo)
    try:
        pool = ctx.db.pool
        await review_marks.add_mark(pool, task.id, "a.txt", "f1", ctx.user.id)
        await review_marks.add_mark(pool, task.id, "a.txt", "f1", ctx.user.id)
        await review_marks.add_mark(pool, task.id, "a.txt", "f2", ctx.user.id)
        await review_marks.add_mark(pool, task.id, "b.txt", "f1", ctx.user.id)
        marks = await review_marks.list_marks(pool, task.id)
        assert sorted((m.path, m.fingerprint) for m in marks) == [
            ("a.txt", "f1"),
            ("a.txt", "f2"),
            ("b.txt", "f1"),
        ]
        assert await review_marks.remove_marks(pool, task.id, "a.txt") == 2
        await pool.execute("DELETE FROM task_events WHERE task_id = $1", task.id)
        await pool.execute("DELETE FROM credit_transactions WHERE task_id = $1", task.id)
        await pool.execute("DELETE FROM tasks WHERE id = $1", task.id)
        assert await review_marks.list_marks(pool, task.id) == []
    finally:
        await ctx.close()


def test_fingerprints_follow_content_kind_and_links(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("one\n")
    change = FileChange(path="a.txt", kind=ChangeKind.MODIFIED, new_mode="100644")
    first = file_fingerprint(root, change)
    assert file_fingerprint(root, change) == first
    (root / "a.txt").write_text("two\n")
    assert file_fingerprint(root, change) != first
    (root / "a.txt").write_text("one\n")
    assert file_fingerprint(root, change) == first
    executable = FileChange(path="a.txt", kind=ChangeKind.MODIFIED, new_mode="100755")
    assert file_fingerprint(root, executable) != first
    deleted = FileChange(path="gone.txt", kind=ChangeKind.DELETED)
    assert file_fingerprint(root, deleted) == file_fingerprint(root, deleted)

    secret = tmp_path / "secret.txt"
    secret.write_text("not the workspace's\n")
    os.symlink(secret, root / "link.txt")
    link = FileChange(path="link.txt", kind=ChangeKind.ADDED, new_mode="120000")
    before = file_fingerprint(root, link)
    secret.write_text("changed outside\n")
    assert file_fingerprint(root, link) == before  # the link's target path, not its content
    os.symlink(tmp_path, root / "out")
    outside = FileChange(path="out/secret.txt", kind=ChangeKind.ADDED, new_mode="100644")
    seen = file_fingerprint(root, outside)
    secret.write_text("changed again\n")
    assert file_fingerprint(root, outside) == seen  # never read through the link
    missing = FileChange(path="out/none.txt", kind=ChangeKind.ADDED, new_mode="100644")
    assert file_fingerprint(root, missing) == seen  # "outside", whatever is there
