"""Hostile branch names, refs and URLs are refused before they reach git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from asynccoder_tui.domain.enums import RepoKind
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.vcs.refs import (
    ref_format_problem,
    slugify,
    task_branch,
    validate_branch_name,
    validate_github_full_name,
    validate_relative_path,
    validate_remote_url,
    validate_task_id,
)
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager

HOSTILE_BRANCHES = [
    "--upload-pack=touch /tmp/pwned",
    "-b",
    "../etc/passwd",
    "a/../b",
    "feature branch",
    "tab\there",
    "new\nline",
    "nul\x00byte",
    "HEAD",
    "@",
    "x@{1}",
    "ends.lock",
    "dir/.hidden",
    ".dotfirst",
    "trailing/",
    "/leading",
    "double//slash",
    "tilde~1",
    "caret^",
    "colon:x",
    "question?",
    "star*",
    "bracket[",
    "back\\slash",
    "ends.",
    "",
    "refs/heads/main",
]

CORPUS = [
    "main", "feature/x", "a..b", "a/.b", "a.lock", "a b", "a@{b", "x/", "x.", "a//b",
    "é-unicode", "foo/bar", ".x", "x/.lock/y", "a.lock/b", "@x", "x@", "v1.2.3", "a~b", "a^b",
    "a:b", "a?b", "a*b", "a[b", "a\\b", "a\x7fb", "release/2024.01", "x/y/z", "x-", "_x",
]  # fmt: skip


@pytest.mark.parametrize("name", HOSTILE_BRANCHES)
def test_hostile_branch_names_are_refused(name: str) -> None:
    with pytest.raises(InputError) as info:
        validate_branch_name(name)
    assert "invalid branch name" in str(info.value)


@pytest.mark.parametrize("name", ["main", "feature/login-form", "release/1.2", "user_x/fix-42"])
def test_ordinary_branch_names_pass(name: str) -> None:
    assert validate_branch_name(name) == name


def test_ref_rules_agree_with_git_check_ref_format() -> None:
    for name in CORPUS:
        git = subprocess.run(
            ["git", "check-ref-format", "--allow-onelevel", name], capture_output=True, check=False
        )
        ours = ref_format_problem(name) is None
        assert ours == (git.returncode == 0), f"{name!r}: ours={ours} git={git.returncode == 0}"


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch /tmp/pwned",
        "-oProxyCommand=evil",
        "ext::sh -c touch% /tmp/pwned",
        "fd::3",
        "https://user:ghp_secret@github.com/a/b.git",
        "https://github.com/a b.git",
        "ftp://example.com/repo.git",
        "relative/path",
        "https:///no-host",
        "https://github.com/a/b\n.git",
    ],
)
def test_hostile_remote_urls_are_refused(url: str) -> None:
    with pytest.raises(InputError):
        validate_remote_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/widgets.git",
        "ssh://git@github.com/acme/widgets.git",
        "git@github.com:acme/widgets.git",
        "file:///srv/git/widgets.git",
        "/srv/git/widgets.git",
    ],
)
def test_ordinary_remote_urls_pass(url: str) -> None:
    assert validate_remote_url(url) == url


def test_task_branch_is_prefixed_and_slugged() -> None:
    assert task_branch("1b2c", "Fix the login bug!") == "asynccoder/1b2c-fix-the-login-bug"
    assert task_branch("1b2c", "") == "asynccoder/1b2c-task"
    assert slugify("Ünïcödé  spaces/and..dots") == "unicode-spaces-and-dots"
    with pytest.raises(InputError):
        validate_task_id("../evil")
    with pytest.raises(InputError):
        validate_task_id("-rf")


def test_github_names_and_relative_paths() -> None:
    assert validate_github_full_name("octo-cat/hello.world") == "octo-cat/hello.world"
    for bad in ["octocat", "a/b/c", "../x", "a/..", "a b/c"]:
        with pytest.raises(InputError):
            validate_github_full_name(bad)
    assert validate_relative_path("./config/.env") == "config/.env"
    for bad in ["/etc/passwd", "../x", "a/../../b", ""]:
        with pytest.raises(InputError):
            validate_relative_path(bad)


def test_repo_spec_refuses_hostile_clone_url_and_branch() -> None:
    with pytest.raises(InputError):
        RepoSpec(kind=RepoKind.GITHUB, clone_url="ext::sh -c evil", full_name="a/b")
    with pytest.raises(InputError):
        RepoSpec(
            kind=RepoKind.GITHUB,
            clone_url="https://github.com/a/b.git",
            full_name="a/b",
            default_branch="--upload-pack=evil",
        )
    with pytest.raises(InputError):
        RepoSpec(kind=RepoKind.LOCAL, local_path="relative/repo")


async def test_prepare_refuses_hostile_base_branch_before_running_git(
    manager: WorkspaceManager, github_spec: RepoSpec, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    for base in (f"--upload-pack=touch {marker}", "../main", "main branch"):
        with pytest.raises(InputError):
            await manager.prepare(github_spec, task_id="t1", slug="x", base_branch=base)
    with pytest.raises(InputError):
        await manager.prepare(github_spec, task_id="../../escape", slug="x")
    assert not marker.exists()
    assert not manager.root.exists() or not any(manager.root.iterdir())
