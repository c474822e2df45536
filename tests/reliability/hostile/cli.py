"""Hostile command lines: unknown commands and choices, missing and malformed arguments, numbers
out of range, ids that match nothing, prompts and paths with escapes or bytes that are not
UTF-8, standard input that is not text, broken database URLs (whose password must not be
echoed) and config files.

Each case runs `asynccoder_tui.cli.main(argv)` (in a thread, as its own `asyncio.run`) and
expects an exit code and words on standard error. Whatever the case: no traceback, no
"unexpected" error (exit 70), no terminal escape sequence and no password in the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asynccoder_tui.services import repos
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import make_repository, quick_settings
from tests.reliability.hostile import OK, Case, Refused
from tests.reliability.invariants import database_problems

PASSWORD = "hunter2-cli-password"
ESC_DIR = "\x1b]0;pwned\x07\x1b[31mred"


def _args(
    *argv: str, stdin: bytes | None = None, db: bool = True
) -> tuple[list[str], bytes | None, bool]:
    return list(argv), stdin, db


USAGE = "exit 2"
CASES = [
    Case("help", _args("--help", db=False), OK),
    Case("unknown command", _args("nope", db=False), (USAGE, "invalid choice")),
    Case("task without an action", _args("task", db=False), (USAGE, "required")),
    Case("submit without a prompt", _args("task", "submit", "--repo", "x", db=False), (USAGE, "required")),
    Case("unknown mode", _args("task", "submit", "--repo", "x", "--mode", "nope", "p", db=False), USAGE),
    Case("unknown priority", _args("task", "submit", "--repo", "x", "--priority", "urgent", "p", db=False), USAGE),
    Case("unknown status", _args("task", "list", "--status", "bogus", db=False), USAGE),
    Case("limit not a number", _args("task", "list", "--limit", "abc", db=False), "not a whole number"),
    Case("limit zero", _args("task", "list", "--limit", "0", db=False), "must be from 1"),
    Case("limit negative", _args("task", "list", "--limit", "-5", db=False), USAGE),
    Case("limit of 20 digits", _args("task", "list", "--limit", "9" * 20, db=False), "must be from 1"),
    Case("concurrency zero", _args("worker", "--concurrency", "0", db=False), "must be from 1"),
    Case("concurrency negative", _args("worker", "--concurrency", "-3", db=False), USAGE),
    Case("db without an action", _args("db", db=False), USAGE),
    Case("show an empty id", _args("task", "show", ""), "not found"),
    Case("show a non-hex id", _args("task", "show", "zzzz"), "not found"),
    Case("show an unknown id", _args("task", "show", "00000000-0000-0000-0000-000000000000"), "not found"),
    Case("show an id of escapes", _args("task", "show", "\x1b[2J\x1b[31m"), "not found"),
    Case("cancel an unknown id", _args("task", "cancel", "abcd1234"), "not found"),
    Case("diff an unknown id", _args("task", "diff", "abcd1234"), "not found"),
    Case("pr of an unknown id", _args("task", "pr", "abcd1234"), "not found"),
    Case("retry an unknown id", _args("task", "retry", "abcd1234"), "not found"),
    Case("follow up with nothing", _args("task", "follow-up", "abcd1234", ""), ("empty", "not found")),
    Case("submit to an unknown repository", _args("task", "submit", "--repo", "/nonexistent/r", "do it"), "not found"),
    Case("submit an empty prompt", _args("task", "submit", "--repo", "{repo}", ""), "the prompt is empty"),
    Case("submit an empty standard input", _args("task", "submit", "--repo", "{repo}", "-", stdin=b""), "the prompt is empty"),
    Case("submit standard input that is not UTF-8", _args("task", "submit", "--repo", "{repo}", "-", stdin=b"\xff\xfe fix"), "not UTF-8"),
    Case("submit a prompt that is not UTF-8", _args("task", "submit", "--repo", "{repo}", "fix \udcff"), "not valid UTF-8"),
    Case("submit a 2 MB prompt", _args("task", "submit", "--repo", "{repo}", "p" * 2_000_000), "the limit is 1,000,000"),
    Case("submit with an option-like branch", _args("task", "submit", "--repo", "{repo}", "--branch", "-x", "p"), (USAGE, "invalid branch name")),
    Case("submit with an option-like branch given with =", _args("task", "submit", "--repo", "{repo}", "--branch=-x", "p"), "invalid branch name"),
    Case("submit with an escape model", _args("task", "submit", "--repo", "{repo}", "--model", "\x1b[31m", "p"), "invalid model name"),
    Case("submit with escapes in the prompt", _args("task", "submit", "--repo", "{repo}", "--model", "scripted:echo", "\x1b]0;pwned\x07Fix \x1b[2J"), OK),
    Case("list shows escaped titles inert", _args("task", "list"), OK),
    Case("add an empty path", _args("repo", "add", ""), "not a usable path"),
    Case("add a folder named with escapes", _args("repo", "add", "{esc_dir}"), "is not a git repository"),
    Case("archive an unknown repository", _args("repo", "archive", "nope"), "not found"),
    Case("search with SQL", _args("task", "list", "--search", "'; DROP TABLE tasks; --"), OK),
    Case("search with LIKE wildcards", _args("task", "list", "--search", "%_\\"), OK),
    Case("models as JSON", _args("model", "list", "--json"), OK),
    Case("database URL that is not one", _args("--database-url", "garbage", "task", "list", db=False), "cannot connect"),
    Case("database URL with a password", _args("--database-url", f"postgresql://u:{PASSWORD}@127.0.0.1:1/x", "task", "list", db=False), "cannot connect"),
    Case("database URL with escapes", _args("--database-url", "postgresql://\x1b[2J@127.0.0.1:1/x", "task", "list", db=False), "cannot connect"),
    Case("a missing config file", _args("--config", "/nonexistent/asynccoder.toml", "model", "list"), OK),
    Case("a broken config file", _args("--config", "{bad_config}", "model", "list"), "cannot read config file"),
    Case("a config file that is a folder", _args("--config", "/tmp", "model", "list"), "not a regular file"),
]  # fmt: skip


def _run_main(argv: list[str], stdin: bytes | None) -> tuple[int, str, str]:
    from asynccoder_tui.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as done:
                code = int(done.code or 0)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


class CliRunner:
    def __init__(self, ctx: AppContext, db_url: str, values: dict[str, str]) -> None:
        self.ctx = ctx
        self.db_url = db_url
        self.values = values

    async def attempt(self, case: Case) -> str:
        argv, stdin, with_db = case.value
        argv = [a.format(**self.values) if "{" in a and "}" in a else a for a in argv]
        if with_db:
            argv = ["--database-url", self.db_url, *argv]
        code, out, err = await asyncio.to_thread(_run_main, argv, stdin)
        both = out + err
        if "Traceback" in both or "unexpected" in err or code == 70:
            raise AssertionError(f"exit {code}, a crash: {err[-500:]}")
        if "\x1b" in both or "\x9b" in both:
            raise AssertionError(f"a terminal escape reached the output: {both[-300:]!r}")
        if PASSWORD in both:
            raise AssertionError("the database password was printed")
        if "--json" in argv and code == 0:
            json.loads(out)
        if code != 0:
            raise Refused(f"exit {code}: {err.strip()[-400:]}")
        return out[-200:]

    async def after(self, case: Case) -> list[str]:
        return []

    async def consistent(self) -> list[str]:
        return await database_problems(self.ctx.db.pool)


class CliGroup:
    name = "cli"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        ctx = await AppContext.open(quick_settings(db_url))
        try:
            root = make_repository(workdir / "cli-repo")
            await repos.add_repo(ctx, str(root))
            (workdir / ESC_DIR).mkdir()
            bad = workdir / "bad.toml"
            bad.write_text("this is = = not toml")
            values = {"repo": str(root), "esc_dir": str(workdir / ESC_DIR), "bad_config": str(bad)}
            yield CliRunner(ctx, db_url, values)
        finally:
            await ctx.close()


GROUP = CliGroup()
