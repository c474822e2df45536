"""`EventWriter`: streamed text coalesced to about ten rows a second, order kept, lease-checked."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest

from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.db import events, queue
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.db.events import LeaseLostError
from asynccoder_tui.db.tasks import NewTask
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.engine.events import EventWriter


async def _claimed_task(pool):
    user = await pool.fetchval("INSERT INTO users (username) VALUES ('w') RETURNING id")
    repo = await pool.fetchval(
        """INSERT INTO repositories (owner_id, kind, name, local_path)
           VALUES ($1, 'local', 'r', '/nowhere/r') RETURNING id""",
        user,
    )
    await queue.insert_tasks(
        pool,
        [NewTask(owner_id=user, repository_id=repo, model="scripted:echo", title="t", prompt="p")],
    )
    (task,) = await queue.claim(pool, "writer-test", lease_seconds=60)
    return task


def _writer(pool, task) -> EventWriter:
    return EventWriter(
        pool, task_id=task.id, user_id=task.owner_id, lease_owner=task.lease_owner,
        provider="scripted", model=task.model,
    )  # fmt: skip


def _delta(text: str, step: int = 1) -> AgentEvent:
    return AgentEvent(EventKind.TEXT_DELTA, {"text": text, "step": step})


async def test_a_fast_stream_is_written_about_ten_times_a_second_in_order(pool) -> None:
    task = await _claimed_task(pool)
    writer = _writer(pool, task)
    sent: list[str] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    n = 0
    while loop.time() - start < 2.0:
        piece = f"{n} "
        sent.append(piece)
        await writer(_delta(piece))
        n += 1
        if n == 300:  # a tool call in the middle: the text before it is written before it
            await writer(AgentEvent(EventKind.TOOL_CALL, {"id": "c1", "name": "view", "step": 1}))
            sent.append("<tool>")
        await asyncio.sleep(0.002)
    elapsed = loop.time() - start
    await writer.close()
    rows = await events.list_events(pool, task.id)
    deltas = [r for r in rows if r.kind is EventKind.TEXT_DELTA]
    assert n > 400, "the stream was not fast enough to test coalescing"
    rate = len(deltas) / elapsed
    assert 6 <= rate <= 16, f"{len(deltas)} text rows in {elapsed:.2f} s for {n} deltas"
    replay = "".join(
        r.payload["text"] if r.kind is EventKind.TEXT_DELTA else "<tool>" for r in rows
    )
    assert replay == "".join(sent)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert writer.rows_written == len(rows)


async def test_buffered_text_is_written_without_waiting_for_another_event(pool) -> None:
    task = await _claimed_task(pool)
    writer = _writer(pool, task)
    for i in range(40):  # 0.4 s of text, then silence (a model thinking, a tool running)
        await writer(_delta(f"w{i} "))
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.35)
    text = "".join(r.payload["text"] for r in await events.list_events(pool, task.id))
    assert text == "".join(f"w{i} " for i in range(40))
    await writer.close()


async def test_text_of_a_new_step_starts_a_new_row(pool) -> None:
    task = await _claimed_task(pool)
    writer = _writer(pool, task)
    await writer(_delta("first ", step=1))
    await writer(_delta("second ", step=2))
    await writer.close()
    rows = await events.list_events(pool, task.id)
    assert [(r.payload["text"], r.payload["step"]) for r in rows] == [("first ", 1), ("second ", 2)]


async def test_a_writer_that_lost_the_lease_writes_nothing_more(pool) -> None:
    task = await _claimed_task(pool)
    writer = _writer(pool, task)
    await writer(AgentEvent(EventKind.STATUS, {"state": "started"}))
    await pool.execute("UPDATE tasks SET lease_owner = 'someone-else/1' WHERE id = $1", task.id)
    with pytest.raises(LeaseLostError):
        await writer(AgentEvent(EventKind.STATUS, {"state": "step"}))
    with pytest.raises(LeaseLostError):
        await writer(_delta("more"))
    with pytest.raises(LeaseLostError):
        await writer(
            AgentEvent(EventKind.USAGE, {"input_tokens": 10, "output_tokens": 5, "cost": "0.5"})
        )
    assert [r.seq for r in await events.list_events(pool, task.id)] == [1]
    row = await pool.fetchrow("SELECT cost, input_tokens FROM tasks WHERE id = $1", task.id)
    assert row["cost"] == 0 and row["input_tokens"] == 0
    assert await pool.fetchval("SELECT count(*) FROM api_usage WHERE task_id = $1", task.id) == 0


async def test_each_append_is_announced_with_the_last_sequence_number(pool, db_url) -> None:
    task = await _claimed_task(pool)
    bus = EventBus(db_url)
    await bus.start()
    sub = bus.subscribe(["task_events"])
    try:
        await events.append_events(
            pool,
            task.id,
            [(EventKind.STATUS, {"n": 1}), (EventKind.STATUS, {"n": 2})],
            lease_owner=task.lease_owner,
        )
        await events.append_events(pool, task.id, [(EventKind.MESSAGE, {"text": "hi"})])
        notes = [await asyncio.wait_for(sub.get(), 5) for _ in range(2)]
    finally:
        await bus.stop()
    assert [n.payload for n in notes] == [f"{task.id}:2", f"{task.id}:3"]
    rows = await events.list_events(pool, task.id)
    assert [(r.seq, r.payload) for r in rows] == [(1, {"n": 1}), (2, {"n": 2}), (3, {"text": "hi"})]
    with pytest.raises(LeaseLostError):
        await events.append_events(
            pool, task.id, [(EventKind.STATUS, {})], lease_owner="another/lease"
        )


class CommitThenDrop:
    """A pool whose `drop_at`-th statement runs (and commits), then fails as a connection
    dropped before its answer arrived would: the caller cannot tell whether it got through."""

    def __init__(self, pool, drop_at: int) -> None:
        self.pool = pool
        self.drop_at = drop_at
        self.statements = 0

    async def _run(self, method: str, *args, **kw):
        self.statements += 1
        result = await getattr(self.pool, method)(*args, **kw)
        if self.statements == self.drop_at:
            raise asyncpg.exceptions.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )
        return result

    async def execute(self, *args, **kw):
        return await self._run("execute", *args, **kw)

    async def fetch(self, *args, **kw):
        return await self._run("fetch", *args, **kw)

    async def fetchrow(self, *args, **kw):
        return await self._run("fetchrow", *args, **kw)

    async def fetchval(self, *args, **kw):
        return await self._run("fetchval", *args, **kw)


async def test_a_write_whose_commit_got_through_before_the_drop_is_not_written_twice(
    pool,
) -> None:
    task = await _claimed_task(pool)
    flaky = CommitThenDrop(pool, drop_at=1)
    writer = EventWriter(
        flaky, task_id=task.id, user_id=task.owner_id, lease_owner=task.lease_owner,
        provider="scripted", model=task.model, retry_for=5,
    )  # fmt: skip
    await writer(_delta("streamed once "))
    await writer(AgentEvent(EventKind.TOOL_RESULT, {"id": "c1", "output": "once"}))
    assert flaky.statements == 2  # the dropped one, then the retry that found it written
    rows = await events.list_events(pool, task.id)
    assert [(r.seq, r.kind) for r in rows] == [
        (1, EventKind.TEXT_DELTA),
        (2, EventKind.TOOL_RESULT),
    ]
    assert await events.last_seq(pool, task.id) == 2
    await writer.write(EventKind.STATUS, {"status": "after"})
    assert [r.seq for r in await events.list_events(pool, task.id)] == [1, 2, 3]


async def test_a_usage_record_whose_commit_got_through_is_not_billed_twice(pool) -> None:
    task = await _claimed_task(pool)
    # Statement 1 appends the usage event, statement 2 records the call: it is the one dropped.
    flaky = CommitThenDrop(pool, drop_at=2)
    writer = EventWriter(
        flaky, task_id=task.id, user_id=task.owner_id, lease_owner=task.lease_owner,
        provider="scripted", model=task.model, retry_for=5,
    )  # fmt: skip
    usage = {"input_tokens": 1000, "output_tokens": 100, "cost": "0.0045", "failed": False}
    await writer(AgentEvent(EventKind.USAGE, usage))
    await writer(AgentEvent(EventKind.USAGE, usage))  # a second, real call
    calls = await pool.fetchval("SELECT count(*) FROM api_usage WHERE task_id = $1", task.id)
    row = await pool.fetchrow(
        "SELECT cost, run_cost, input_tokens FROM tasks WHERE id = $1", task.id
    )
    assert calls == 2
    assert (row["cost"], row["run_cost"], row["input_tokens"]) == (
        Decimal("0.009"),
        Decimal("0.009"),
        2000,
    )
