"""Task search words live in `task_search`, written when a task is made or its title or prompt
changes, and never by the queue's status changes."""

from __future__ import annotations

from uuid import uuid4

import asyncpg

from asynccoder_tui.db import queue, repositories, tasks, users


async def _setup(pool: asyncpg.Pool):
    user = await users.ensure_current_user(pool, starting_credits=500)
    repo = await repositories.add_local(
        pool, user.id, path=f"/tmp/{uuid4()}", name="demo", default_branch="main"
    )
    return user, repo


async def _new(pool: asyncpg.Pool, user, repo, title: str, prompt: str):
    return await tasks.insert_task(
        pool,
        tasks.NewTask(owner_id=user.id, repository_id=repo.id, model="scripted:demo",
                      title=title, prompt=prompt),
    )  # fmt: skip


async def _found(pool: asyncpg.Pool, user, text: str) -> list:
    rows = await tasks.list_tasks(pool, user.id, filters=tasks.TaskFilter(text=text))
    return [t.id for t in rows]


async def test_a_word_of_the_prompt_finds_its_task(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    wanted = await _new(pool, user, repo, "Tidy up", "the tokenizer drops unicode quotes")
    await _new(pool, user, repo, "Something else", "rename the config loader")
    assert await _found(pool, user, "tokenizer") == [wanted.id]
    assert await _found(pool, user, "unicode quotes") == [wanted.id]
    assert await _found(pool, user, "absent") == []


async def test_a_changed_prompt_or_title_is_indexed_again(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _new(pool, user, repo, "First title", "about the scheduler")
    await pool.execute(
        "UPDATE tasks SET prompt = 'about the allocator', title = 'Renamed' WHERE id = $1",
        task.id,
    )
    assert await _found(pool, user, "scheduler") == []
    assert await _found(pool, user, "allocator") == [task.id]
    assert await _found(pool, user, "renamed") == [task.id]


async def test_claim_and_finish_leave_the_search_words_alone(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _new(pool, user, repo, "Queue words", " ".join(f"word{i}" for i in range(500)))
    version = "SELECT xmin::text FROM task_search WHERE task_id = $1"
    before = await pool.fetchval(version, task.id)
    (claimed,) = await queue.claim(pool, "w", lease_seconds=30)
    assert claimed.id == task.id and claimed.lease_owner is not None
    assert await queue.finish_owned(pool, task.id, claimed.lease_owner)
    assert await pool.fetchval(version, task.id) == before
    assert await _found(pool, user, "word499") == [task.id]


async def test_deleting_a_task_deletes_its_words(pool: asyncpg.Pool) -> None:
    user, repo = await _setup(pool)
    task = await _new(pool, user, repo, "Short lived", "ephemeral")
    await pool.execute("DELETE FROM tasks WHERE id = $1", task.id)
    assert await pool.fetchval("SELECT count(*) FROM task_search WHERE task_id = $1", task.id) == 0
