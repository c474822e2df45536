"""Fixtures for the app's pilot tests: settings on a fresh database, local repositories, and
helpers that wait for what the user would wait for (the database, a task finishing)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from asynccoder_tui.config import Settings, load_settings
from asynccoder_tui.tui.app import AsyncCoderApp


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    ).stdout  # fmt: skip


README = "# Widgets\n\nline one\nline two\nline three\n" + "".join(
    f"filler {i}\n" for i in range(30)
)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "widgets", files: dict[str, str] | None = None) -> Path:
        root = tmp_path / name
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        for rel, text in (files or {"README.md": README, "app.py": "print('hi')\n"}).items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
        return root

    return make


@pytest.fixture
def ui_settings(db_url: str, home: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": db_url,
            "lease_seconds": 5,
            "worker_concurrency": 1,
            "use_gh_cli_token": False,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


def review_plan(tmp_path: Path) -> str:
    """A scripted model that edits README.md in two far-apart places and adds a file."""
    plan = [
        {
            "text": "I will tidy the README and add notes.",
            "tool_calls": [
                {
                    "name": "edit",
                    "arguments": {
                        "path": "README.md",
                        "old_str": "line one",
                        "new_str": "line ONE",
                    },
                },
                {
                    "name": "edit",
                    "arguments": {
                        "path": "README.md",
                        "old_str": "filler 28",
                        "new_str": "filler twenty-eight",
                    },
                },
                {"name": "create", "arguments": {"path": "NOTES.md", "content": "# Notes\n"}},
            ],
        },
        {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": "Tidied."}}]},
    ]
    path = tmp_path / "review-plan.json"
    path.write_text(json.dumps({"turns": plan}))
    return f"scripted:@{path}"


async def until(
    pilot: Pilot[Any], predicate: Callable[[], object], *, timeout: float = 30.0, what: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await pilot.pause(0.05)


async def ready(app: AsyncCoderApp, pilot: Pilot[Any], *, dismiss_welcome: bool = True) -> None:
    """Wait for the database and the first page of tasks; close the first-run welcome."""
    await until(pilot, lambda: app.context is not None, what="the database")
    table = app.main_screen.tasks.table
    await until(pilot, lambda: table.pages_loaded >= 1 and not table.loading_page, what="tasks")
    if dismiss_welcome:
        await pilot.pause(0.2)
        if type(app.screen).__name__ == "WelcomeScreen":
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main_screen, what="the main screen")


def toasts(app: AsyncCoderApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


def screen_text(app: AsyncCoderApp) -> str:
    """What the terminal shows, as plain text (from the exported screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(" ".join(re.findall(r">([^<>]*)</text>", svg))).replace("\xa0", " ")


async def submit_review_task(app: AsyncCoderApp, root: Path, tmp_path: Path) -> Any:
    """Add the repository at `root` and submit a task on it running `review_plan` (two README
    hunks and a new NOTES.md); returns the task as submitted."""
    from asynccoder_tui.services import repos, tasks

    ctx = app.context
    assert ctx is not None
    await repos.add_repo(ctx, str(root))
    return await tasks.submit(
        ctx,
        tasks.SubmitRequest(
            repository=str(root), prompt="Tidy the README", model=review_plan(tmp_path)
        ),
    )
