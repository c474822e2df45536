"""Fixtures for engine and service tests: a context on a fresh database, local repositories."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import UUID

import pytest
import pytest_asyncio

from asynccoder_tui.config import Settings, load_settings
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.domain.models import Task
from asynccoder_tui.services.context import AppContext


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    ).stdout  # fmt: skip


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "project", files: dict[str, str] | None = None) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        for rel, text in (
            files or {"README.md": "# Project\n\nA small project.\n", "app.py": "print('hi')\n"}
        ).items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
        return root

    return make


@pytest.fixture
def settings(db_url: str, home: Path) -> Settings:
    return load_settings(database_url=db_url, lease_seconds=5, sandbox="auto")


@pytest_asyncio.fixture
async def ctx(settings: Settings) -> AsyncIterator[AppContext]:
    context = await AppContext.open(settings)
    yield context
    await context.close()


async def wait_status(
    ctx: AppContext, task_id: UUID, statuses: set[str], timeout: float = 30
) -> Task:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        task = await tasks_db.get_task(ctx.db.pool, task_id)
        if task.status.value in statuses:
            return task
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"task stayed {task.status.value} (error: {task.error})")
        await asyncio.sleep(0.05)
