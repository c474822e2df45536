"""Hostile agent tool arguments, straight to `WorkspaceTools.call` (what the agent loop calls
with a model's arguments): path traversal, absolute and home paths, symlinks out of the
workspace and symlink loops, `.git` and its hooks, FIFOs and device files, a 100 MB file and a
100 MB line, binary and non-UTF-8 edits, regular-expression and glob bombs, wrong types and
absurd numbers; commands that flood, hang or leave daemons, through the real sandbox.

After every case nothing outside the workspace may have changed: a sibling folder with a file,
the workspace's `.git` (config and hooks), and `/tmp`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from asynccoder_tui.agent import search
from asynccoder_tui.agent.providers.messages import ToolCall
from asynccoder_tui.agent.tools import WorkspaceTools
from asynccoder_tui.vcs.sandbox import make_runner
from tests.reliability.hostile import OK, Case, NoHarm, Refused

MB = 1024 * 1024
OUTSIDE = "../outside/secret.txt"


def _call(tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    return tool, arguments


CASES = [
    # view: where the path leads
    Case("view ../ traversal", _call("view", path=OUTSIDE), "leads outside the workspace"),
    Case("view deep traversal", _call("view", path="src/../../outside/secret.txt"), "leads outside"),
    Case("view backslash traversal", _call("view", path="..\\..\\etc\\passwd"), "leads outside"),
    Case("view absolute path", _call("view", path="/etc/passwd"), "absolute path"),
    Case("view /proc", _call("view", path="/proc/self/environ"), "absolute path"),
    Case("view home path", _call("view", path="~/.ssh/id_rsa"), "home-directory"),
    Case("view symlink to a file outside", _call("view", path="link_out"), "outside the workspace"),
    Case("view through a symlinked folder", _call("view", path="dir_out/passwd"), "outside the workspace"),
    Case("view symlink to /dev/zero", _call("view", path="link_zero"), "outside the workspace"),
    Case("view symlink inside", _call("view", path="link_in"), OK),
    Case("view symlink loop", _call("view", path="loop_a"), "symlink loop"),
    Case("view .git/config", _call("view", path=".git/config"), "inside .git"),
    Case("view .git/hooks", _call("view", path=".git/hooks/pre-commit"), "inside .git"),
    Case("view .git via ..", _call("view", path="src/../.git/config"), "inside .git"),
    Case("view a nested .git", _call("view", path="src/.git"), ".git"),
    Case("view NUL in path", _call("view", path="READ\x00ME.md"), "NUL"),
    Case("view empty path (the root)", _call("view", path=""), OK),
    Case("edit empty path", _call("edit", path="", old_str="a", new_str="b"), "directory"),
    Case("view path of the wrong type", _call("view", path=5), "must be a string"),
    Case("view 5000-character path", _call("view", path="a" * 5000), ("too long", "does not exist")),
    Case("view FIFO", _call("view", path="fifo"), "FIFO"),
    Case("view character device", _call("view", path="zero"), "device file"),
    Case("view 100 MB file", _call("view", path="big100.txt"), OK, timeout=20),
    Case("view the end of a 100 MB file", _call("view", path="big100.txt", start_line=20_000_000), OK, timeout=20),
    Case("view a 100 MB line", _call("view", path="line100.txt"), OK, timeout=20),
    Case("view binary", _call("view", path="binary.bin"), OK),
    Case("view negative start", _call("view", path="README.md", start_line=-5), OK),
    Case("view start past the end", _call("view", path="README.md", start_line=10**18), "past the end"),
    Case("view start of the wrong type", _call("view", path="README.md", start_line="abc"), "must be an integer"),
    Case("view fractional end", _call("view", path="README.md", end_line=1.5), "must be an integer"),
    Case("view boolean start", _call("view", path="README.md", start_line=True), "must be an integer"),
    # create
    Case("create ../ traversal", _call("create", path="../escape.txt", content="x"), "leads outside"),
    Case("create git hook", _call("create", path=".git/hooks/post-commit", content="#!/bin/sh\ntouch /tmp/x\n"), "inside .git"),
    Case("create through a symlinked folder", _call("create", path="dir_out/evil", content="x"), "outside"),
    Case("create over a symlink out", _call("create", path="link_out", content="x", overwrite=True), "outside"),
    Case("create over a FIFO", _call("create", path="fifo", content="x", overwrite=True), "FIFO"),
    Case("create over a device", _call("create", path="zero", content="x", overwrite=True), "device file"),
    Case("create on a symlink loop", _call("create", path="loop_a", content="x"), "symlink loop"),
    Case("create existing file", _call("create", path="README.md", content="x"), "already exists"),
    Case("create the root", _call("create", path=".", content="x"), "directory"),
    Case("create a folder's name", _call("create", path="src", content="x"), "directory"),
    Case("create content of the wrong type", _call("create", path="n.txt", content=["x"]), "must be a string"),
    Case("create deep path", _call("create", path="d/" * 60 + "f.txt", content="x"), OK),
    Case("create 20 MB", _call("create", path="twenty.txt", content="x" * (20 * MB)), OK, timeout=20),
    Case("create with NUL", _call("create", path="nul.txt", content="a\x00b"), OK),
    # edit and insert
    Case("edit binary", _call("edit", path="binary.bin", old_str="a", new_str="b"), "binary file"),
    Case("edit 100 MB", _call("edit", path="big100.txt", old_str="line", new_str="x"), "limit of this tool"),
    Case("edit empty old_str", _call("edit", path="README.md", old_str="", new_str="x"), "old_str is empty"),
    Case("edit missing text", _call("edit", path="README.md", old_str="zzz-not-there", new_str="x"), "not found"),
    Case("edit non-UTF-8 file", _call("edit", path="latin1.txt", old_str="caf", new_str="CAF"), OK),
    Case("edit through a symlink out", _call("edit", path="link_out", old_str="root", new_str="toor"), "outside"),
    Case("edit FIFO", _call("edit", path="fifo", old_str="a", new_str="b"), "FIFO"),
    Case("edit old_str of the wrong type", _call("edit", path="README.md", old_str=["a"], new_str="x"), "must be a string"),
    Case("insert before the top", _call("insert", path="README.md", line=-1, text="x"), "out of range"),
    Case("insert far past the end", _call("insert", path="README.md", line=10**9, text="x"), "out of range"),
    Case("insert into a device", _call("insert", path="zero", line=0, text="x"), "device file"),
    # search and list
    Case("search catastrophic regex (ripgrep)", _call("search", pattern="(a|aa)+$"), OK, timeout=20),
    Case("search catastrophic regex (Python)", _call("search", pattern="(a|aa)+\\1$"), "took too long", timeout=20),
    Case("search nested look-ahead", _call("search", pattern="(?=(a+)+$)b"), OK, timeout=20),
    Case("search invalid regex", _call("search", pattern="("), "invalid regular expression"),
    Case("search deep nesting", _call("search", pattern="(" * 500 + ")" * 500), "invalid regular expression"),
    Case("search huge repetition", _call("search", pattern="a{65000}"), OK, timeout=20),
    Case("search empty pattern", _call("search", pattern=""), "pattern is empty"),
    Case("search outside", _call("search", pattern="x", path="../outside"), "leads outside"),
    Case("search a FIFO", _call("search", pattern="x", path="fifo"), "not a regular file"),
    Case("search a billion results", _call("search", pattern="line", max_results=10**9), OK, timeout=20),
    Case("search negative results", _call("search", pattern="x", max_results=-5), OK),
    Case("search glob bomb", _call("search", pattern="x", glob="*a" * 30 + "*b"), OK, timeout=20),
    Case("list glob bomb", _call("list_files", glob="*a" * 30 + "*b"), OK, timeout=20),
    Case("list ** chain", _call("list_files", glob="**/" * 20 + "*"), OK, timeout=20),
    Case("list outside", _call("list_files", path="../"), "leads outside"),
    Case("list through a symlinked folder", _call("list_files", path="dir_out"), "outside"),
    Case("list a symlink loop", _call("list_files", path="loop_a"), "symlink loop"),
    # commands, in the sandbox
    Case("run empty command", _call("run", command="   "), "command is empty"),
    Case("run that hangs", _call("run", command="yes > /dev/null", timeout=1), "timed out", timeout=20),
    Case("run a flood", _call("run", command="head -c 50000000 /dev/zero | tr '\\0' 'a'"), OK, timeout=30),
    Case("run a daemon", _call("run", command="sleep 1000 & echo started"), OK, timeout=20),
    Case("run with a huge timeout", _call("run", command="echo ok", timeout=10**9), OK),
    Case("run with a negative timeout", _call("run", command="echo ok", timeout=-1), OK),
    Case("run with a timeout of the wrong type", _call("run", command="echo ok", timeout="soon"), "must be an integer"),
    Case("run escape sequences", _call("run", command="printf '\\033]0;pwned\\007\\033[2J'"), OK),
    Case("run writes outside", _call("run", command=f"echo pwned > {OUTSIDE}; cat {OUTSIDE}"), OK),
    # finish and unknown tools
    Case("finish empty summary", _call("finish", summary=""), "summary is empty"),
    Case("finish summary of escapes", _call("finish", summary="\x1b[2J done"), OK),
    Case("unknown tool", _call("rm_rf", path="/"), "Unknown tool"),
    Case("arguments that are not JSON", ("run", None), "not valid JSON"),
]  # fmt: skip


def _snapshot(*folders: Path) -> dict[str, str]:
    """Path -> content digest (or link target) of everything under `folders`."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            try:
                if path.is_symlink():
                    found[str(path)] = "-> " + os.readlink(path)
                elif path.is_file():
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    found[str(path)] = "dir"
            except OSError as err:
                found[str(path)] = f"error {err.errno}"
    return found


def build_workspace(workdir: Path) -> Path:
    ws = workdir / "ws"
    outside = workdir / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text("outside the workspace\n")
    (ws / "src").mkdir(parents=True)
    (ws / "README.md").write_text("# Project\n\nSome text.\n")
    (ws / "src" / "app.py").write_text("def greet(name):\n    return 'hello ' + name\n")
    (ws / "src" / ".git").write_text("gitdir: ../../outside\n")
    (ws / ".git" / "hooks").mkdir(parents=True)
    (ws / ".git" / "config").write_text("[core]\n\tbare = false\n")
    (ws / "binary.bin").write_bytes(b"abc\x00def" * 100)
    (ws / "latin1.txt").write_bytes("café crème\n".encode("latin-1"))
    (ws / "bomb.txt").write_text("a" * 60 + "c\n")
    with (ws / "big100.txt").open("wb") as handle:
        handle.write(b"line\n" * (20 * MB))
    with (ws / "line100.txt").open("wb") as handle:
        handle.write(b"x" * (100 * MB))
    (ws / "link_out").symlink_to("/etc/passwd")
    (ws / "dir_out").symlink_to("/etc")
    (ws / "link_zero").symlink_to("/dev/zero")
    (ws / "link_in").symlink_to("README.md")
    (ws / "loop_a").symlink_to("loop_b")
    (ws / "loop_b").symlink_to("loop_a")
    os.mkfifo(ws / "fifo")
    with contextlib.suppress(PermissionError):
        os.mknod(ws / "zero", stat.S_IFCHR | 0o666, os.makedev(1, 5))
    return ws


@contextlib.contextmanager
def short_search(seconds: float) -> Iterator[None]:
    saved = search.SEARCH_SECONDS
    search.SEARCH_SECONDS = seconds
    try:
        yield
    finally:
        search.SEARCH_SECONDS = saved


class ToolsRunner(NoHarm):
    def __init__(self, tools: WorkspaceTools, ws: Path, workdir: Path) -> None:
        self.tools = tools
        self.ws = ws
        self.guarded = (workdir / "outside", ws / ".git")
        self.before = _snapshot(*self.guarded)
        self.tmp_before = set(os.listdir("/tmp"))
        self.latin1 = (ws / "latin1.txt").read_bytes()

    async def attempt(self, case: Case) -> str:
        name, arguments = case.value
        if arguments is None:
            call = ToolCall(id="c1", name=name, arguments_error="arguments are not valid JSON",
                            raw_arguments="{not json")  # fmt: skip
        else:
            call = ToolCall(id="c1", name=name, arguments=arguments)
        output = await self.tools.call(call)
        if "failed unexpectedly" in output.content:
            raise AssertionError(output.content[:300])
        if output.is_error:
            raise Refused(output.content)
        if name == "edit" and "latin1" in str(arguments.get("path")):
            data = (self.ws / "latin1.txt").read_bytes()
            if data != self.latin1.replace(b"caf", b"CAF"):
                raise AssertionError(f"the edit changed other bytes: {data!r}")
            (self.ws / "latin1.txt").write_bytes(self.latin1)
        if len(output.content) > 60_000:
            raise AssertionError(f"a result of {len(output.content)} characters reached the model")
        return output.content[:120]

    async def after(self, case: Case) -> list[str]:
        problems = []
        now = _snapshot(*self.guarded)
        if now != self.before:
            changed = sorted(set(now.items()) ^ set(self.before.items()))[:3]
            problems.append(f"files outside the workspace changed: {changed}")
            self.before = now
        new_tmp = set(os.listdir("/tmp")) - self.tmp_before
        evil = [n for n in new_tmp if "pwned" in n or n == "x"]
        if evil:
            problems.append(f"written to /tmp: {evil}")
        return problems


class ToolsGroup:
    name = "tools"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        ws = build_workspace(workdir)
        runner = await make_runner("auto", workspace=ws)
        tools = WorkspaceTools(ws, runner, command_timeout=20)
        with short_search(2.0):
            yield ToolsRunner(tools, ws, workdir)


GROUP = ToolsGroup()
