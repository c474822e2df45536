"""Hostile repository contents, through everything a task does with a repository: the
workspace is prepared (worktree and branch), the agent's instructions and repository map are
read, the tools list, search and view, a file is written, the diff is taken and committed, and
each changed file's hunks are read; then the workspace is removed.

Contents: non-UTF-8 text and file names, names with newlines, escapes or option-like text,
a 60 MB file, 5,000 files, symlink loops and symlinks out of the repository, submodules with
hostile URLs, LFS pointers, 150 nested folders, huge or looping agent instructions,
`.gitignore` bombs, and nested repositories the agent creates. Nothing may hang or crash, and
no payload may run (`PWNED`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from asynccoder_tui.agent.modes import load_instructions, repository_map
from asynccoder_tui.agent.providers.messages import ToolCall
from asynccoder_tui.agent.tools import WorkspaceTools
from asynccoder_tui.config import Paths
from asynccoder_tui.vcs.spec import RepoSpec
from asynccoder_tui.vcs.workspace import WorkspaceManager
from tests.reliability.harness import git
from tests.reliability.hostile import OK, Case, NoHarm, took

PWNED = Path("/tmp/asynccoder-contents-pwned")
PAYLOAD = "ext::sh -c touch% /tmp/asynccoder-contents-pwned"
Build = Callable[[Path], None]


def _files(files: dict[str, str | bytes]) -> Build:
    def build(root: Path) -> None:
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    return build


def _raw_name(name: bytes, content: bytes = b"x\n") -> Build:
    def build(root: Path) -> None:
        with open(os.path.join(os.fsencode(root), name), "wb") as handle:
            handle.write(content)

    return build


def _symlinks(links: dict[str, str]) -> Build:
    def build(root: Path) -> None:
        for name, target in links.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).symlink_to(target)

    return build


def _many(count: int) -> Build:
    def build(root: Path) -> None:
        for number in range(count):
            folder = root / f"d{number % 50:02d}"
            folder.mkdir(exist_ok=True)
            (folder / f"f{number}.txt").write_text(f"{number}\n")

    return build


def _deep(levels: int) -> Build:
    def build(root: Path) -> None:
        folder = root.joinpath(*(["n"] * levels))
        folder.mkdir(parents=True)
        (folder / "leaf.txt").write_text("deep\n")

    return build


def _submodule(url: str) -> Build:
    def build(root: Path) -> None:
        (root / ".gitmodules").write_text(f'[submodule "dep"]\n\tpath = dep\n\turl = {url}\n')
        sha = "1" * 40
        git(root, "update-index", "--add", "--cacheinfo", f"160000,{sha},dep")

    return build


def _then(first: dict[str, str], then: dict[str, str]) -> Build:
    """`first` committed, then `then` written (committed by the case with the rest)."""

    def build(root: Path) -> None:
        _files(first)(root)
        git(root, "add", "-A")
        git(root, "commit", "-q", "--no-verify", "-m", "first")
        _files(then)(root)

    return build


BOMB = "*a" * 40 + "*b\n" + "**/" * 40 + "x\n"
LONG = "a" * 200


def _long_untracked(ws: Path) -> None:
    (ws / f"{LONG}.new").write_text("x\n")


def _agents_loop(root: Path) -> None:
    (root / "AGENTS.md").symlink_to("CLAUDE.md")
    (root / "CLAUDE.md").symlink_to("AGENTS.md")


def _nested_repo_empty(ws: Path) -> None:
    git(ws, "init", "-q", "vendor/empty")
    (ws / "vendor" / "empty" / "file.txt").write_text("x\n")


def _nested_repo_committed(ws: Path) -> None:
    git(ws, "init", "-q", "vendor/dep")
    (ws / "vendor" / "dep" / "lib.py").write_text("x = 1\n")
    git(ws / "vendor" / "dep", "add", "-A")
    git(ws / "vendor" / "dep", "commit", "-q", "-m", "dep")


def _delete_everything(ws: Path) -> None:
    for path in ws.rglob("*.txt"):
        path.unlink()


LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12345\n"

CASES = [
    Case("latin-1 contents", (_files({"latin1.txt": "café\n".encode("latin-1")}), None), OK),
    Case("invalid UTF-8 contents", (_files({"bad.txt": b"ok \xff\xfe\xfd ok\n"}), None), OK),
    Case("non-UTF-8 file name", (_raw_name(b"caf\xe9.txt"), None), OK),
    Case("newline in a file name", (_files({"a\nb.txt": "x\n"}), None), OK),
    Case("escape sequences in a file name", (_files({"\x1b]0;pwned\x07\x1b[31mred.txt": "x\n"}), None), OK),
    Case("option-like file names", (_files({"-rf": "x\n", "--upload-pack=touch x": "y\n"}), None), OK),
    Case("60 MB file", (_files({"big.bin": os.urandom(60 * 1024 * 1024)}), None), OK, timeout=120),
    Case("5,000 files", (_many(5000), None), OK, timeout=120),
    Case("symlink loop", (_symlinks({"loop_a": "loop_b", "loop_b": "loop_a"}), None), OK),
    Case("symlink to /", (_symlinks({"root_link": "/"}), None), OK),
    Case("symlink out by ..", (_symlinks({"up": "../../../../etc/passwd"}), None), OK),
    Case("symlink to /dev/zero", (_symlinks({"zero": "/dev/zero"}), None), OK),
    Case("submodule with an ext:: URL", (_submodule(PAYLOAD), None), OK),
    Case("submodule with a file URL", (_submodule("/nonexistent/dep.git"), None), OK),
    Case("LFS pointers", (_files({".gitattributes": "*.bin filter=lfs diff=lfs merge=lfs -text\n",
                                  "asset.bin": LFS}), None), OK),
    Case("required filter that does not exist", (_files({".gitattributes": "* filter=nothing\n"}), None), OK),
    Case("150 nested folders", (_deep(150), None), OK),
    Case("20 MB agent instructions", (_files({"AGENTS.md": "Be careful. " * 2_000_000}), None), OK),
    Case("looping agent instructions", (_agents_loop, None), OK),
    Case("agent instructions linking out", (_symlinks({"AGENTS.md": "/etc/passwd"}), None), OK),
    Case(".gitignore bomb", (_then({f"{LONG}.txt": "x\n"}, {".gitignore": BOMB}), None), OK),
    Case("untracked file under a .gitignore bomb", (_then({}, {".gitignore": BOMB}), _long_untracked),
         "did not finish within", timeout=90),
    Case("garbage .gitmodules", (_files({".gitmodules": "\x00\xff[[[ not a config"}), None), OK),
    Case("CRLF and a late NUL", (_files({"mixed.txt": b"a\r\nb\nc\r\n" + b"x" * 10000 + b"\x00"}), None), OK),
    Case("empty files", (_files({"empty.txt": "", "nonl.txt": "no newline"}), None), OK),
    Case("agent makes a nested repository without commits", (None, _nested_repo_empty), OK),
    Case("agent clones a nested repository", (None, _nested_repo_committed), OK),
    Case("agent deletes 5,000 files", (_many(5000), _delete_everything), OK, timeout=120),
]  # fmt: skip


class ContentsRunner(NoHarm):
    def __init__(self, workdir: Path, manager: WorkspaceManager) -> None:
        self.workdir = workdir
        self.manager = manager

    async def attempt(self, case: Case) -> str:
        build, after_prepare = case.value
        root = self.workdir / f"repo-{uuid.uuid4().hex[:8]}"
        root.mkdir()
        await asyncio.to_thread(git, root, "init", "-q", "-b", "main")
        (root / "README.md").write_text("# Hostile\n")
        if build is not None:
            await asyncio.to_thread(build, root)
        await asyncio.to_thread(git, root, "add", "-A")
        await asyncio.to_thread(git, root, "commit", "-q", "--no-verify", "-m", "contents")
        spec = RepoSpec(kind="local", local_path=str(root), default_branch="main")
        ws = await self.manager.prepare(spec, task_id=uuid.uuid4(), slug=case.name)
        try:
            return await self._work(ws, after_prepare)
        finally:
            await self.manager.remove(ws, force=True)

    async def _work(self, ws: Any, after_prepare: Any) -> str:
        instructions = await asyncio.to_thread(load_instructions, ws.path)
        if instructions and len(instructions) > 200_000:
            raise AssertionError(f"{len(instructions)} characters of instructions")
        await asyncio.to_thread(repository_map, ws.path)
        tools = WorkspaceTools(ws.path, None)
        for name, arguments in (
            ("list_files", {"path": "."}),
            ("view", {"path": "."}),
            ("search", {"pattern": "x"}),
            ("search", {"pattern": "(?=x)x"}),
            ("create", {"path": "added-by-agent.txt", "content": "new\n"}),
        ):
            output = await tools.call(ToolCall(id="c", name=name, arguments=arguments))
            if "unexpectedly" in output.content or (output.is_error and name == "create"):
                raise AssertionError(f"{name}: {output.content[:300]}")
        if after_prepare is not None:
            await asyncio.to_thread(after_prepare, ws.path)
        stats = await self.manager.diff_stats(ws)
        files = await self.manager.diff_files(ws, stats=True)
        for change in files[:20]:
            await self.manager.file_hunks(ws, change)
        await self.manager.full_diff_text(ws)
        info = await self.manager.commit(ws, "Hostile contents", model_name="scripted:demo")
        if info is None:
            raise AssertionError("nothing was committed")
        return f"{stats.files_changed} files changed, committed {info.sha[:10]}"

    async def after(self, case: Case) -> list[str]:
        return ["a payload ran"] if took(PWNED) else []


class ContentsGroup:
    name = "contents"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        home = workdir / "home"
        paths = Paths(config_dir=home / "config", data_dir=home / "data", cache_dir=home / "cache",
                      state_dir=home / "state", log_dir=home / "log")  # fmt: skip
        paths.ensure()
        # git's own pattern matching is exponential on a .gitignore bomb: its time limit is
        # what bounds it (8 s here; 300 s in production).
        yield ContentsRunner(workdir, WorkspaceManager(paths, git_timeout=8))


GROUP = ContentsGroup()
