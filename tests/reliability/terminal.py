"""Terminal escape sequences from a model and a repository, shown inert.

A scripted task streams text full of escape sequences (OSC window titles, CSI screen clears,
8-bit CSI, BEL), runs a command that prints them, creates a file whose name and content hold
them, and finishes with a summary that holds them. Then every CLI view of that task (`task
list`, `task show --events`, `task diff`, `--json`) is read: none may carry a raw control
character to the terminal. The terminal UI's check is in the test module (it needs a pilot).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import (
    make_repository,
    plan_model,
    quick_settings,
    running_pool,
    top_up,
    wait_final,
)

EVIL = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\x9b31m\x07\x1bP+q\x1b\\"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile_plan(folder: Path) -> str:
    return plan_model(folder, "escapes", [
        {"text": f"Looking {EVIL} around.", "chunk_chars": 5, "tool_calls": [
            {"name": "run", "arguments": {"command": "printf '\\033]0;title\\007\\033[2J\\233m\\007 ok'"}}]},
        {"text": f"Writing {EVIL}.", "tool_calls": [
            {"name": "create", "arguments": {"path": f"notes{EVIL[:10]}.txt", "content": f"line {EVIL}\n"}}]},
        {"text": "Done.", "tool_calls": [{"name": "finish", "arguments": {"summary": f"finished {EVIL}"}}]},
    ])  # fmt: skip


@dataclass
class TerminalReport:
    views: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"terminal_escapes: {self.views} CLI views of a hostile task, {len(self.problems)} with raw control characters"


async def hostile_task(ctx: AppContext, workdir: Path) -> Any:
    await top_up(ctx)
    root = make_repository(workdir / "escapes")
    await repos.add_repo(ctx, str(root))
    task = await task_service.submit(
        ctx, task_service.SubmitRequest(repository=str(root), prompt=f"Fix {EVIL} now",
                                        title=f"Title {EVIL}", model=hostile_plan(workdir)),
    )  # fmt: skip
    async with running_pool(ctx, concurrency=1):
        return await wait_final(ctx, task.id)


def _cli(argv: list[str]) -> tuple[int, str]:
    from asynccoder_tui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(argv)
        except SystemExit as done:
            code = int(done.code or 0)
    return code, out.getvalue()


async def terminal_round(db_url: str, workdir: Path) -> TerminalReport:
    report = TerminalReport()
    ctx = await AppContext.open(quick_settings(db_url))
    try:
        task = await hostile_task(ctx, workdir)
        if task.status.value != "completed":
            report.problems.append(f"the hostile task ended {task.status.value}: {task.error}")
    finally:
        await ctx.close()
    short = str(task.id)[:8]
    for argv in (["task", "list"], ["task", "show", short, "--events"], ["task", "diff", short],
                 ["task", "show", short, "--json"], ["task", "list", "--json"]):  # fmt: skip
        code, out = await asyncio.to_thread(_cli, ["--database-url", db_url, *argv])
        report.views += 1
        if code != 0:
            report.problems.append(f"{' '.join(argv)} exited {code}: {out[-300:]}")
        found = CONTROL.findall(out)
        if found:
            report.problems.append(
                f"{' '.join(argv)} printed control characters {sorted(set(found))!r}"
            )
        if "--json" in argv:
            json.loads(out)
    return report
