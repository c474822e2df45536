"""Hostile repository references: paths that are not repositories, bare and empty ones, symlink
loops, huge and unicode names, `file://`, `ext::` and `--upload-pack` tricks, GitHub names and
URLs that try to climb out of `owner/name`, and the remote URLs git would be handed.

`repo add` cases go through `services.repos.add_repo` (GitHub names against a local GitHub-like
server); URL cases through `vcs.refs.validate_remote_url`, the gate every clone, fetch and push
URL passes. No case may run anything: the `ext::` payloads would create `PWNED`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from asynccoder_tui.services import repos
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.refs import validate_remote_url
from tests.reliability.harness import git, make_repository, quick_settings
from tests.reliability.hostile import OK, Case, took
from tests.reliability.invariants import database_problems
from tests.support.github import TOKEN, FakeGitHub

PWNED = Path("/tmp/asynccoder-hostile-pwned")
Setup = Callable[[Path], str]


def _file(w: Path) -> str:
    (w / "a-file.txt").write_text("x")
    return str(w / "a-file.txt")


def _empty_dir(w: Path) -> str:
    (w / "empty").mkdir()
    return str(w / "empty")


def _bare(w: Path) -> str:
    git(w, "init", "-q", "--bare", "bare.git")
    return str(w / "bare.git")


def _no_commits(w: Path) -> str:
    git(w, "init", "-q", "fresh")
    return str(w / "fresh")


def _loop(w: Path) -> str:
    (w / "loop_a").symlink_to(w / "loop_b")
    (w / "loop_b").symlink_to(w / "loop_a")
    return str(w / "loop_a")


def _dangling(w: Path) -> str:
    (w / "dangling").symlink_to(w / "nowhere")
    return str(w / "dangling")


def _repo(name: str) -> Setup:
    def setup(w: Path) -> str:
        return str(make_repository(w / name))

    return setup


def _escape_named_dir(w: Path) -> str:
    path = w / "\x1b]0;pwned\x07\x1b[31mred"
    path.mkdir()
    return str(path)


def _dotdot(w: Path) -> str:
    make_repository(w / "dots")
    (w / "other").mkdir()
    return str(w / "other" / ".." / "dots" / ".")


def _git_folder(w: Path) -> str:
    root = make_repository(w / "inner")
    return str(root / ".git")


def _detached(w: Path) -> str:
    root = make_repository(w / "detached")
    git(root, "checkout", "-q", "-b", "topic")
    git(root, "branch", "-q", "-D", "main")
    git(root, "checkout", "-q", "--detach")
    return str(root)


def _subdir(w: Path) -> str:
    root = make_repository(w / "withsub", {"src/app.py": "x = 1\n"})
    return str(root / "src")


def _linked_worktree(w: Path) -> str:
    root = make_repository(w / "main-checkout")
    git(root, "worktree", "add", "-q", "-b", "side", str(w / "linked"))
    return str(w / "linked")


def _evil_remote(w: Path) -> str:
    root = make_repository(w / "evil-remote")
    git(root, "remote", "add", "origin", "ext::sh -c touch% /tmp/asynccoder-hostile-pwned")
    return str(root)


ADD_CASES = [
    Case("empty", "", "not a usable path"),
    Case("blank", "   \t ", "not a usable path"),
    Case("NUL byte", "a\x00b", "not a usable path"),
    Case("5000 characters", "a" * 5000, "not a usable path"),
    Case("missing path", "/nonexistent/asynccoder/hostile", "does not exist"),
    Case("a file", _file, "is not a folder"),
    Case("an empty folder", _empty_dir, "is not a git repository"),
    Case("a bare repository", _bare, "is a bare repository"),
    Case("no commits", _no_commits, "has no commits yet"),
    Case("symlink loop", _loop, "cannot be read"),
    Case("dangling symlink", _dangling, "does not exist"),
    Case("unicode name", _repo("проект-日本語-🚀-ünï"), OK),
    Case("255-character name", _repo("r" * 255), OK),
    Case("escape sequences in the name", _escape_named_dir, "is not a git repository"),
    Case("dot-dot path", _dotdot, OK),
    Case("the .git folder itself", _git_folder, "inside a git folder"),
    Case("detached HEAD, no main", _detached, "default branch"),
    Case("a subfolder of a repository", _subdir, OK),
    Case("a linked worktree", _linked_worktree, OK),
    Case("a repository whose origin is ext::", _evil_remote, OK),
    Case("~user path", "~asynccoder-no-such-user/repo", "does not exist"),
    Case("file:// URL", "file:///tmp/asynccoder/hostile", "does not exist"),
    Case("ext:: transport", "ext::sh -c touch% /tmp/asynccoder-hostile-pwned", "does not exist"),
    Case("--upload-pack option", "--upload-pack=touch /tmp/asynccoder-hostile-pwned", "does not exist"),
    Case("-option", "-c", "does not exist"),
    Case("GitHub owner/name", "acme/widgets", OK),
    Case("GitHub https URL", "https://github.com/acme/widgets.git", OK),
    Case("GitHub ssh URL", "git@github.com:acme/widgets", OK),
    Case("GitHub name with a newline", "acme/widgets\n", OK),
    Case("unknown GitHub repository", "acme/nope", "not found on GitHub"),
    Case("GitHub URL climbing out", "https://github.com/../../etc/passwd", "invalid GitHub repository name"),
    Case("GitHub URL with a path", "https://github.com/acme/widgets/tree/main", "invalid GitHub repository name"),
    Case("GitHub name with a space", "own er/name", "invalid GitHub repository name"),
    Case("GitHub name with %2F", "acme/wid%2Fgets", "invalid GitHub repository name"),
    Case("GitHub name of 300 characters", "acme/" + "x" * 300, "invalid GitHub repository name"),
    Case("GitHub name ..", "acme/..", "invalid GitHub repository name"),
    Case("GitHub ssh URL with a command", "git@github.com:acme/widgets;touch /tmp/x", "invalid GitHub repository name"),
    Case("another host's URL", "https://evil.example/acme/widgets", "does not exist"),
]  # fmt: skip

URL_CASES = [
    Case("url: ext::", "ext::touch%/tmp/asynccoder-hostile-pwned", "transport helpers"),
    Case("url: fd::", "fd::17", "transport helpers"),
    Case("url: helper::", "evil::https://example.com/a", "transport helpers"),
    Case("url: --upload-pack", "--upload-pack=touch /tmp/x", "starts with '-'"),
    Case("url: -oProxyCommand", "-oProxyCommand=touch /tmp/x", "starts with '-'"),
    Case("url: ssh host as an option", "ssh://-oProxyCommand=touch%20x/a", "host"),
    Case("url: password in it", "https://user:hunter2@github.com/a/b", "password or token"),
    Case("url: ftp", "ftp://example.com/a", "scheme"),
    Case("url: scp-like without a path", "git@github.com:", "neither a URL nor an absolute path"),
    Case("url: no host", "https:///a/b", "no host"),
    Case("url: relative path", "relative/path", "neither a URL nor an absolute path"),
    Case("url: space", "git@host:path with space", "space or a control character"),
    Case("url: newline", "https://example.com/a\n", "space or a control character"),
    Case("url: NUL", "https://example.com/\x00", "space or a control character"),
    Case("url: escape", "https://example.com/\x1b[31m", "space or a control character"),
    Case("url: empty", "", "empty"),
    Case("url: https", "https://github.com/acme/widgets.git", OK),
    Case("url: scp-like", "git@github.com:acme/widgets.git", OK),
    Case("url: ssh", "ssh://git@example.com:2222/a/b.git", OK),
    Case("url: absolute path", "/srv/git/project.git", OK),
    Case("url: file", "file:///srv/git/project.git", OK),
]  # fmt: skip


class ReposRunner:
    def __init__(self, ctx: AppContext, github: FakeGitHub, workdir: Path) -> None:
        self.ctx = ctx
        self.github = github
        self.workdir = workdir

    async def attempt(self, case: Case) -> str:
        if case.name.startswith("url: "):
            return validate_remote_url(case.value)
        folder = self.workdir / f"case-{abs(hash(case.name))}"
        folder.mkdir(exist_ok=True)
        ref = case.value(folder) if callable(case.value) else case.value
        repo = await repos.add_repo(self.ctx, ref)
        return f"added {repo.display_name}"

    async def after(self, case: Case) -> list[str]:
        return ["an ext:: payload ran"] if took(PWNED) else []

    async def consistent(self) -> list[str]:
        return await database_problems(self.ctx.db.pool)


class ReposGroup:
    name = "repos"
    cases = ADD_CASES + URL_CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        github = FakeGitHub()
        github.add_repo("acme/widgets")
        ctx = await AppContext.open(
            quick_settings(db_url, github_api_url=github.url, github_token=TOKEN)
        )
        try:
            yield ReposRunner(ctx, github, workdir)
        finally:
            await ctx.close()
            github.close()


GROUP = ReposGroup()

__all__ = ["GROUP"]
