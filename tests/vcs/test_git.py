"""The git runner: clear errors, a hardened environment, timeouts, secrets kept out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from asynccoder_tui.domain.errors import GitError
from asynccoder_tui.vcs.git import Git, git_version

from .conftest import commit_all, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "a.txt").write_text("a\n")
    commit_all(path, "first")
    return path


async def test_failure_names_the_command_and_quotes_git(repo: Path) -> None:
    with pytest.raises(GitError) as info:
        await Git(cwd=repo).run("rev-parse", "--verify", "no-such-branch")
    text = str(info.value)
    assert text.startswith("git rev-parse --verify no-such-branch failed (exit 128)")
    assert "fatal: Needed a single revision" in text


async def test_environment_from_outside_does_not_leak_in(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Leaked User\n[alias]\n\tst = status\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'user.name'='Param Leak'")
    runner = Git(cwd=repo)
    assert await runner.text("log", "--format=%s") == "first"
    assert not await runner.succeeds("st")
    name = await runner.run("config", "user.name", check=False)
    assert name.text == ""
    assert await runner.text("config", "core.hooksPath") == "/dev/null"


async def test_config_travels_in_the_environment_and_secrets_are_redacted(repo: Path) -> None:
    secret = "ghp_RedactMe123"
    runner = Git(cwd=repo)
    value = await runner.text("config", "http.extraHeader", config=[("http.extraHeader", secret)])
    assert value == secret
    with pytest.raises(GitError) as info:
        await runner.run("rev-parse", f"refs/heads/{secret}", secrets=[secret])
    assert secret not in str(info.value) and "***" in str(info.value)


async def test_timeout_stops_git(repo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(GitError, match="did not finish within"):
        # `git -c` of an alias that sleeps stands in for a hung fetch.
        await Git(cwd=repo, timeout=0.5).run("hang", config=[("alias.hang", "!sleep 30")])
    assert time.monotonic() - started < 5


async def test_version_and_missing_folder(tmp_path: Path) -> None:
    major, minor, _ = await git_version()
    assert (major, minor) >= (2, 32)
    with pytest.raises(GitError, match="not found"):
        await Git(cwd=tmp_path / "missing").run("status")
