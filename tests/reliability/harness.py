"""What every round needs, in pytest and in `bench/reliability.py` alike: settings with short
leases and roomy limits, small git repositories, fresh migrated databases, and a way to run a
coroutine with a hard time limit that names what hung.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from asynccoder_tui.config import Settings, load_settings

T = TypeVar("T")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/local/bin:/usr/bin:/bin",
}  # fmt: skip


def git(cwd: Path, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=check, capture_output=True, text=True,
        env={**GIT_ENV, "HOME": str(cwd)},
    ).stdout  # fmt: skip


def make_repository(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    """A git repository at `root` with `files` committed on `main`."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for rel, content in (files or {"README.md": "# Project\n", "app.py": "print('hi')\n"}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def quick_settings(db_url: str, **changes: Any) -> Settings:
    """Settings on `db_url` with a 3 s lease and limits that never refuse a test's load
    (bypassing validation: a person may not set a lease under 5 s)."""
    values: dict[str, Any] = {
        "lease_seconds": 3,
        "max_submissions_per_minute": 100_000,
        "max_concurrent_tasks_per_user": 100,
        "max_concurrent_per_provider": 100,
    }
    unchecked = {k: changes.pop(k) for k in list(changes) if k in values}
    values.update(unchecked)
    changes.setdefault("use_gh_cli_token", False)
    base = load_settings(database_url=db_url, sandbox="auto", **changes)
    return base.model_copy(update=values)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def fresh_database(admin_url: str) -> str:
    """A new, migrated database on the server of `admin_url`; its URL."""
    from asynccoder_tui.db.migrate import apply_migrations
    from asynccoder_tui.db.pool import create_pool

    name = f"asynccoder_rel_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(admin_url, name)
    pool = await create_pool(url, max_size=2)
    try:
        await apply_migrations(pool)
    finally:
        await pool.close()
    return url


async def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def within(seconds: float, what: str, work: Awaitable[T]) -> T:
    """`work`, or an AssertionError saying that `what` hung for `seconds`."""
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise AssertionError(f"{what} hung (no answer in {seconds:g} s)") from None


async def poll(check: Callable[[], Awaitable[T]], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for the duration."""
    old = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def top_up(ctx: Any, credits: int = 10_000_000) -> None:
    """Grant the context's user `credits` (a ledger row, as a purchase would be)."""
    from asynccoder_tui.db import credits as ledger

    await ledger.grant(ctx.db.pool, ctx.user.id, credits, key=f"grant:reliability:{uuid.uuid4()}")
    await ctx.refresh_user()


@contextlib.asynccontextmanager
async def running_pool(
    ctx: Any, settings: Any = None, *, concurrency: int = 2, **options: Any
) -> AsyncIterator[Any]:
    """A started `WorkerPool` in this process (with its own bus), stopped on exit."""
    from asynccoder_tui.db.bus import EventBus
    from asynccoder_tui.engine.pool import WorkerPool

    bus = EventBus(ctx.db.url)
    await bus.start()
    options.setdefault("poll_interval", 0.3)
    options.setdefault("rescue_interval", 0.5)
    options.setdefault("backoff_base", 0.1)
    pool = WorkerPool(
        ctx.db.pool, settings or ctx.settings, concurrency=concurrency, bus=bus, **options
    )
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()
        await bus.stop()


FINAL = ("completed", "failed", "cancelled")


async def wait_final(ctx: Any, task_id: Any, timeout: float = 90) -> Any:
    """The task once it has ended (completed, failed or cancelled)."""
    from asynccoder_tui.db import tasks as tasks_db

    async def ended() -> Any:
        task = await tasks_db.get_task(ctx.db.pool, task_id)
        return task if task.status.value in FINAL else None

    return await poll(ended, timeout=timeout, what=f"task {task_id} to end")


def plan_model(folder: Path, name: str, turns: list[dict[str, Any]]) -> str:
    """A `scripted:@<file>` model name for a plan of `turns`."""
    import json

    path = folder / f"plan-{name}.json"
    path.write_text(json.dumps({"turns": turns}))
    return f"scripted:@{path}"


def finish(summary: str = "done") -> dict[str, Any]:
    return {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": summary}}]}
