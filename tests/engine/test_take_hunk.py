"""Taking hunks from one best-of-N attempt into another: a hunk (or a file's whole change)
of attempt B's diff is applied to attempt A's workspace; one that does not apply is refused
in words and changes nothing; a discarded attempt has nothing left to take."""

from __future__ import annotations

import asyncio
import json

import pytest

from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.services import attempts, repos, tasks
from asynccoder_tui.services.review import full_diff, workspace_manager
from tests.cli.test_cli import run
from tests.engine.conftest import finish_turn, plan_model, quick, running_pool, wait_status

FINAL = {"completed", "failed", "cancelled"}
README = "".join(f"line {n}\n" for n in range(1, 21))


def _edit(old: str, new: str) -> dict:
    return {"name": "edit", "arguments": {"path": "README.md", "old_str": old, "new_str": new}}


def _create(path: str, text: str) -> dict:
    return {"name": "create", "arguments": {"path": path, "content": text}}


async def _two_attempts(ctx, settings, make_repo, tmp_path):
    root = make_repo(files={"README.md": README})
    await repos.add_repo(ctx, str(root))
    first = plan_model(tmp_path, [
        {"text": "A.", "tool_calls": [_edit("line 2\n", "line two\n"), _create("same.txt", "one\n")]},
        finish_turn("first"),
    ])  # fmt: skip
    second = plan_model(tmp_path, [
        {"text": "B.", "tool_calls": [_edit("line 17\n", "line seventeen\n"),
                                      _create("same.txt", "two\n"), _create("b.txt", "beta\n")]},
        finish_turn("second"),
    ])  # fmt: skip
    request = tasks.SubmitRequest(repository=str(root), prompt="Improve it")
    made = await attempts.submit_attempts(ctx, request, 2, models=[first, second])
    async with running_pool(ctx, quick(settings), concurrency=2):
        done = [await wait_status(ctx, t.id, FINAL) for t in made]
    assert [d.status.value for d in done] == ["completed", "completed"], [d.error for d in done]
    return done


async def test_take_a_hunk_and_a_file_from_another_attempt(
    ctx, settings, make_repo, tmp_path
) -> None:
    a, b = await _two_attempts(ctx, settings, make_repo, tmp_path)
    hunks = await attempts.attempt_hunks(ctx, b.id)
    by_path = {h.path: h for h in hunks}
    assert [h.number for h in hunks] == [1, 2, 3]
    assert sorted(by_path) == ["README.md", "b.txt", "same.txt"]
    listed = await asyncio.to_thread(
        run, "task", "take-hunk", str(b.id), "--list", "--json", env={"DATABASE_URL": ctx.db.url}
    )
    assert listed.returncode == 0, listed.stderr
    assert [(h["number"], h["id"]) for h in json.loads(listed.stdout)] == [
        (h.number, h.id) for h in hunks
    ]

    readme = by_path["README.md"]
    taken = await attempts.take_hunk(ctx, b.id, readme.number, into=a.id, expected_id=readme.id)
    assert taken.path == "README.md"
    ws = await workspace_manager(ctx).open(a.id)
    assert ws is not None
    text = (ws.path / "README.md").read_text()
    assert "line two\n" in text and "line seventeen\n" in text  # A's own change kept

    await attempts.take_file(ctx, b.id, "b.txt", into=a.id)
    assert (ws.path / "b.txt").read_text() == "beta\n"
    # B is untouched.
    b_ws = await workspace_manager(ctx).open(b.id)
    assert b_ws is not None and "line two" not in (b_ws.path / "README.md").read_text()


async def test_a_hunk_that_does_not_apply_changes_nothing(
    ctx, settings, make_repo, tmp_path
) -> None:
    a, b = await _two_attempts(ctx, settings, make_repo, tmp_path)
    same = next(h for h in await attempts.attempt_hunks(ctx, b.id) if h.path == "same.txt")
    before = await full_diff(ctx, a.id)
    with pytest.raises(ConflictError, match="does not apply") as caught:
        await attempts.take_hunk(ctx, b.id, same.number, into=a.id)
    assert "Nothing was changed" in caught.value.message
    assert await full_diff(ctx, a.id) == before
    cli = await asyncio.to_thread(
        run, "task", "take-hunk", str(b.id)[:8], str(same.number), "--into", str(a.id),
        env={"DATABASE_URL": ctx.db.url},
    )  # fmt: skip
    assert cli.returncode != 0 and "does not apply" in cli.stderr, cli.stderr
    assert await full_diff(ctx, a.id) == before
    with pytest.raises(InputError, match="no hunk 9"):
        await attempts.take_hunk(ctx, b.id, 9, into=a.id)
    with pytest.raises(ConflictError, match="changed since"):
        await attempts.take_hunk(ctx, b.id, 1, into=a.id, expected_id="0" * 16)
    with pytest.raises(InputError):
        await attempts.take_hunk(ctx, a.id, 1, into=a.id)
    assert await full_diff(ctx, a.id) == before

    await attempts.pick(ctx, a.id)
    with pytest.raises(ConflictError, match="discarded"):
        await attempts.take_hunk(ctx, b.id, 1, into=a.id)
