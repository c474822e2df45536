"""Automatic review: a coding task's commit is reviewed by a read-only reviewer task whose
verdict becomes a `reviews` row with scores and findings; "changes requested" goes back to the
coder with one call; "required" holds a pull request until a review approves the commit."""

from __future__ import annotations

import pytest

from asynccoder_tui.db import events
from asynccoder_tui.domain.enums import EventKind, TaskMode
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.engine.reviews import parse_review
from asynccoder_tui.services import repos, reviews, tasks
from asynccoder_tui.services.context import AppContext
from tests.engine.conftest import quick, running_pool, wait_for, wait_status

FINAL = {"completed", "failed", "cancelled"}


async def _reviewed(ctx: AppContext, task_id, count: int):
    async def check():
        found = await reviews.list_reviews(ctx, task_id)
        return found if len(found) >= count else None

    return await wait_for(check, timeout=60, what=f"{count} review(s)")


def test_parse_review_reads_the_last_fenced_block_and_clamps() -> None:
    text = 'Done.\n```json\n{"status": "Changes requested", "quality_score": 1.7,\n' \
        '"security_score": "x", "issues": ["plain words", {"file": "a.py", "line": -2,' \
        ' "message": "bad"}, {"message": ""}]}\n```'  # fmt: skip
    verdict = parse_review(text)
    assert verdict.status == "changes_requested"
    assert verdict.quality_score == 1.0 and verdict.security_score is None
    assert [i["message"] for i in verdict.issues] == ["plain words", "bad"]
    assert verdict.issues[1]["file"] == "a.py" and verdict.issues[1]["line"] is None
    plain = parse_review("Looks fine to me.")
    assert plain.status == "commented" and plain.summary == "Looks fine to me."
    assert plain.quality_score is None


async def test_review_off_queues_no_reviewer(ctx, settings, make_repo) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="Note", model="scripted:demo")
    )
    async with running_pool(ctx, quick(settings)):
        done = await wait_status(ctx, task.id, FINAL)
    assert done.commit_sha
    assert await reviews.review_tasks(ctx, task.id) == []
    with pytest.raises(InputError):
        await reviews.set_review_mode(ctx, str(root), "sometimes")


async def test_changes_requested_round_trip_and_required_gate(ctx, settings, make_repo) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    await reviews.set_review_mode(ctx, str(root), "on", model="scripted:reviewer-changes")
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(repository=str(root), prompt="Add a note", model="scripted:demo"),
    )
    async with running_pool(ctx, quick(settings), concurrency=2):
        first = await wait_status(ctx, task.id, FINAL)
        assert first.status.value == "completed", first.error
        [review] = await _reviewed(ctx, task.id, 1)
        [(reviewer_id, _)] = await reviews.review_tasks(ctx, task.id)
        reviewer = await wait_status(ctx, reviewer_id, FINAL)
        assert reviewer.mode is TaskMode.REVIEW and reviewer.parent_id == task.id
        assert reviewer.model == "scripted:reviewer-changes" and reviewer.files_changed == 0
        assert review.status == "changes_requested" and review.commit_sha == first.commit_sha
        assert float(review.quality_score or 0) == pytest.approx(0.4)
        assert float(review.security_score or 0) == pytest.approx(0.9)
        assert [(i.file, i.line) for i in review.issues] == [("README.md", 3)]
        shown = [
            e for e in await events.list_events(ctx.db.pool, task.id)
            if e.kind is EventKind.REVIEW_COMMENT
        ]  # fmt: skip
        assert shown and "changes requested" in shown[-1].payload["text"]

        # Required: no pull request until a review approves the current commit.
        await reviews.set_review_mode(ctx, str(root), "required", model="scripted:reviewer")
        with pytest.raises(ConflictError, match="approved review"):
            await reviews.require_approval(ctx, first)

        # One call sends the findings back to the coder, which runs again and is re-reviewed.
        again = await reviews.send_back(ctx, task.id)
        # A worker may claim it before it is re-read: queued or already running, as a new run.
        assert again.status.value in ("queued", "running")
        assert again.billing_run == first.billing_run + 1
        second = await wait_status(ctx, task.id, FINAL)
        assert second.status.value == "completed", second.error
        assert second.commit_sha != first.commit_sha
        latest = (await _reviewed(ctx, task.id, 2))[0]
        assert latest.status == "approved" and latest.commit_sha == second.commit_sha
        await reviews.require_approval(ctx, second)  # passes now
        with pytest.raises(ConflictError):
            await reviews.send_back(ctx, task.id)  # approved: nothing to send
    transcript = await events.list_events(ctx.db.pool, task.id)
    sent = [
        e for e in transcript if e.kind is EventKind.MESSAGE and e.payload.get("role") == "user"
    ]
    assert any("README.md:3" in str(e.payload.get("text")) for e in sent)


async def test_a_review_is_sent_back_once(ctx, settings, make_repo) -> None:
    """A second b (or --send-back) for the same review does not queue its findings again:
    the coder would run twice on one request, paid twice."""
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    await reviews.set_review_mode(ctx, str(root), "on", model="scripted:reviewer-changes")
    task = await tasks.submit(
        ctx,
        tasks.SubmitRequest(repository=str(root), prompt="Add a note", model="scripted:demo"),
    )
    async with running_pool(ctx, quick(settings), concurrency=2):
        await wait_status(ctx, task.id, FINAL)
        await _reviewed(ctx, task.id, 1)
    await reviews.send_back(ctx, task.id)  # no worker now: it stays queued with the message
    with pytest.raises(ConflictError, match="already sent back"):
        await reviews.send_back(ctx, task.id)
    sent = [
        e for e in await events.list_events(ctx.db.pool, task.id)
        if e.kind is EventKind.MESSAGE and "README.md:3" in str(e.payload.get("text"))
    ]  # fmt: skip
    assert len(sent) == 1
