"""Fixtures for the vcs tests: real git repositories in temporary folders.

`origin` is a bare repository playing GitHub's part (reached through a file:// clone URL); its
HEAD points at `develop` while the repository's default branch is `main`, so a test notices
when a workspace starts from HEAD instead of the default branch. `local_repo` is a checkout a
user added by path, left on a branch of their own with uncommitted work.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from asynccoder_tui.config import Paths
from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    """Run git for a test's own set-up and checks (not through the code under test)."""
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=GIT_ENV,
        input=input,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout.decode("utf-8", "surrogateescape").strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    root = tmp_path / "home"
    paths = Paths(
        config_dir=root / "config",
        data_dir=root / "data",
        cache_dir=root / "cache",
        state_dir=root / "state",
        log_dir=root / "state" / "log",
    )
    paths.ensure()
    return paths


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare origin with `main` (three files) and `develop` (HEAD)."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("# Widgets\n")
    (seed / "src").mkdir()
    (seed / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(1, 31)))
    (seed / ".gitignore").write_text(".env\nbuild/\n")
    commit_all(seed, "initial")
    git(seed, "branch", "-M", "main")
    git(seed, "push", "-q", "origin", "main")
    git(seed, "checkout", "-q", "-b", "develop")
    (seed / "DEVELOP.md").write_text("only on develop\n")
    commit_all(seed, "develop work")
    git(seed, "push", "-q", "origin", "develop")
    git(bare, "symbolic-ref", "HEAD", "refs/heads/develop")
    return bare


@pytest.fixture
def seed(origin: Path) -> Path:
    """The clone that populated `origin`, for pushing new commits to it."""
    return origin.parent / "seed"


@pytest.fixture
def github_spec(origin: Path) -> RepoSpec:
    return RepoSpec(
        kind=RepoKind.GITHUB,
        clone_url=f"file://{origin}",
        full_name="acme/widgets",
        default_branch="main",
    )


@pytest.fixture
def local_repo(origin: Path, tmp_path: Path) -> Path:
    """A user's checkout, on their own branch `wip` with an uncommitted edit."""
    repo = tmp_path / "local"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(repo))
    git(repo, "checkout", "-q", "-b", "wip")
    (repo / "README.md").write_text("# Widgets\nuser's uncommitted edit\n")
    (repo / ".env").write_text("SECRET_SETTING=1\n")
    return repo


@pytest.fixture
def local_spec(local_repo: Path) -> RepoSpec:
    return RepoSpec(kind=RepoKind.LOCAL, local_path=str(local_repo), default_branch="main")


@pytest.fixture
def manager(paths: Paths) -> WorkspaceManager:
    return WorkspaceManager(paths, author_name="Async Coder", author_email="bot@example.com")
