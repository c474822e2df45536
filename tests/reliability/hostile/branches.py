"""Hostile branch names and refs: what `git check-ref-format` refuses, names git would read as
options or revisions, control characters and escapes, over-long names; then the same through
a submission, a base branch that does not exist (the task fails in words), and task titles
that must still give a safe work branch.

Every name is also given to `git check-ref-format --branch`: a name we accept must be one git
accepts (we may refuse more, never less).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.refs import task_branch, validate_branch_name
from tests.reliability.harness import (
    make_repository,
    quick_settings,
    running_pool,
    top_up,
    wait_final,
)
from tests.reliability.hostile import OK, Case, Refused
from tests.reliability.invariants import database_problems

NAMES = [
    ("option", "-x", "starts with '-'"),
    ("upload-pack option", "--upload-pack=touch /tmp/x", ("starts with '-'", "space")),
    ("HEAD", "HEAD", "'HEAD' is not a branch"),
    ("@", "@", "'@' alone means HEAD"),
    ("double dot", "a..b", "contains '..'"),
    ("reflog syntax", "main@{1}", "contains '@{'"),
    ("full ref", "refs/heads/main", "without 'refs/'"),
    ("space", "a b", "a space"),
    (".lock part", "topic.lock", "ends with '.lock'"),
    ("hidden part", "a/.b", "starts with '.'"),
    ("leading dot", ".a", "starts with '.'"),
    ("trailing slash", "a/", "starts or ends with '/'"),
    ("leading slash", "/a", "starts or ends with '/'"),
    ("double slash", "a//b", "contains '//'"),
    ("trailing dot", "a.", "ends with '.'"),
    ("tilde", "a~1", "'~'"),
    ("caret", "a^", "'^'"),
    ("colon", "a:b", "':'"),
    ("question mark", "a?", "'?'"),
    ("star", "a*", "'*'"),
    ("bracket", "a[", "'['"),
    ("backslash", "a\\b", "'\\'"),
    ("control character", "a\x01b", "control character"),
    ("DEL", "a\x7fb", "control character"),
    ("newline", "a\nb", "control character"),
    ("escape sequence", "\x1b[31mred", "control character"),
    ("201 characters", "b" * 201, "longer than 200"),
    ("empty", "", "empty"),
    ("unicode", "feature/ünïcødé-日本", OK),
    ("nested", "feature/x/y", OK),
    ("dash inside", "fix-1.2_3", OK),
]
NAME_CASES = [Case(f"name: {name}", value, expect) for name, value, expect in NAMES]

TITLES = [
    "\x1b]0;pwned\x07\x1b[2J;rm -rf /",
    "../../etc/passwd",
    "-x --upload-pack=evil",
    "HEAD@{1}~2^3:refs/heads/x",
    "🚀🚀🚀",
    "ab" * 500,
    "",
    "\u202eevil.sh",
]
TITLE_CASES = [Case(f"work branch from title {i}: {t[:20]!r}", t, OK) for i, t in enumerate(TITLES)]

SUBMIT_CASES = [
    Case("submit: base branch -x", "-x", "invalid branch name"),
    Case("submit: base branch with escape", "\x1b[2Jmain", "invalid branch name"),
    Case("submit: base branch a..b", "a..b", "invalid branch name"),
    Case("submit: base branch that does not exist", "no-such-branch", "does not exist", timeout=60),
    Case("submit: existing base branch", "main", OK, timeout=60),
]


def _git_accepts(name: str) -> bool:
    if "\x00" in name:
        return False
    done = subprocess.run(
        ["git", "check-ref-format", "--branch", name], capture_output=True, check=False
    )
    return done.returncode == 0


class BranchesRunner:
    def __init__(self, ctx: AppContext, root: Path) -> None:
        self.ctx = ctx
        self.root = root

    async def attempt(self, case: Case) -> str:
        if case.name.startswith("name: "):
            git_ok = await asyncio.to_thread(_git_accepts, case.value)
            validate_branch_name(case.value)
            if not git_ok:
                raise AssertionError(f"accepted {case.value!r}, which git refuses")
            return case.value
        if case.name.startswith("work branch"):
            branch = task_branch(uuid.uuid4(), case.value)
            if not await asyncio.to_thread(_git_accepts, branch) or not branch.isascii():
                raise AssertionError(f"unsafe work branch {branch!r}")
            return branch
        task = await task_service.submit(
            self.ctx,
            task_service.SubmitRequest(
                repository=str(self.root), prompt="hostile base", model="scripted:echo",
                base_branch=case.value, max_attempts=1,
            ),
        )  # fmt: skip
        async with running_pool(self.ctx, concurrency=1):
            done = await wait_final(self.ctx, task.id)
        if done.status.value != "completed":
            raise Refused(f"task {done.status.value}: {done.error}")
        return "completed"

    async def after(self, case: Case) -> list[str]:
        return []

    async def consistent(self) -> list[str]:
        return await database_problems(self.ctx.db.pool)


class BranchesGroup:
    name = "branches"
    cases = NAME_CASES + TITLE_CASES + SUBMIT_CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        ctx = await AppContext.open(quick_settings(db_url))
        try:
            await top_up(ctx)
            root = make_repository(workdir / "branches")
            await repos.add_repo(ctx, str(root))
            yield BranchesRunner(ctx, root)
        finally:
            await ctx.close()


GROUP = BranchesGroup()
