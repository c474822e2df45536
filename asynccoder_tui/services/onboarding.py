"""First run: what is missing to work with real agents, and the offline demo.

The demo is a small git repository created under the data directory (`<data dir>/demo-project`)
and added like any local repository; with the `scripted:demo` model a task runs end to end with
no network and no API key. Creating it twice returns the same repository.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.domain.errors import GitError
from asynccoder_tui.domain.models import Repository
from asynccoder_tui.services import repos
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.github import resolve_token

DEMO_MODEL = "scripted:demo"
DEMO_PROMPT = "Improve the README: say what the project does and how to run it."

_DEMO_FILES = {
    "README.md": (
        "# Demo project\n\n"
        "A tiny Python project to try Async Coder on.\n\n"
        "Run it with `python app.py`.\n"
    ),
    "app.py": (
        '"""Greets the world."""\n\n\n'
        "def greet(name: str) -> str:\n"
        '    return f"Hello, {name}!"\n\n\n'
        'if __name__ == "__main__":\n'
        '    print(greet("world"))\n'
    ),
    "test_app.py": (
        "from app import greet\n\n\n"
        "def test_greet() -> None:\n"
        '    assert greet("Ada") == "Hello, Ada!"\n'
    ),
}


@dataclass(frozen=True)
class FirstRunState:
    """What a first-time user is missing (by name only; no secret is read out)."""

    anthropic_key: bool
    openai_key: bool
    github_token: bool
    repositories: int

    @property
    def has_provider(self) -> bool:
        return self.anthropic_key or self.openai_key

    @property
    def needs_welcome(self) -> bool:
        return not self.has_provider and not self.github_token and self.repositories == 0


async def first_run_state(ctx: AppContext) -> FirstRunState:
    token = await resolve_token(ctx)
    return FirstRunState(
        anthropic_key=ctx.settings.anthropic_api_key is not None,
        openai_key=ctx.settings.openai_api_key is not None,
        github_token=token is not None,
        repositories=await repos.count_active(ctx),
    )


def demo_path(ctx: AppContext) -> Path:
    return ctx.settings.paths.data_dir / "demo-project"


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Async Coder demo",
        "GIT_AUTHOR_EMAIL": "demo@asynccoder.invalid",
        "GIT_COMMITTER_NAME": "Async Coder demo",
        "GIT_COMMITTER_EMAIL": "demo@asynccoder.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise GitError(f"git {args[0]} failed in {root}: {done.stderr.strip()[:300]}")


def _make_demo(root: Path) -> None:
    if (root / ".git").is_dir():
        return
    root.mkdir(parents=True, exist_ok=True)
    for name, text in _DEMO_FILES.items():
        (root / name).write_text(text, encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Demo project")


async def create_demo(ctx: AppContext) -> Repository:
    """Create (once) and add the demo repository."""
    root = demo_path(ctx)
    await asyncio.to_thread(_make_demo, root)
    return await repos.add_repo(ctx, str(root))
