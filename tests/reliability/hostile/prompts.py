"""Hostile prompts, follow-ups, titles and model names, through the submission service (what
the UI and the CLI call).

Prompts: empty and blank, NUL bytes, 10 MB, control and escape sequences (accepted, stored as
given, shown inert: the task's title must already be clean), bidi overrides, lone surrogates.
Model names: empty, over-long, control characters, SQL, unknown, switched off, needing a key
that is not set, and `scripted:` plans that are missing, not plans, or devices; the last ones
are accepted at submission and must fail the task in words when it runs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from asynccoder_tui.db import ai_models
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import (
    make_repository,
    quick_settings,
    running_pool,
    top_up,
    wait_final,
)
from tests.reliability.hostile import OK, Case, Refused
from tests.reliability.invariants import database_problems

PROMPTS = [
    Case("prompt: empty", "", "the prompt is empty"),
    Case("prompt: blank", "  \n\t \r\n ", "the prompt is empty"),
    Case("prompt: carriage returns", "\r\r\r", "the prompt is empty"),
    Case("prompt: NUL", "\x00", "NUL"),
    Case("prompt: NUL inside", "fix this\x00 now", "NUL"),
    Case("prompt: 1,000,001 characters", "a" * 1_000_001, "the limit is 1,000,000"),
    Case("prompt: 10 MB", "b" * 10_000_000, "the limit is 1,000,000"),
    Case("prompt: exactly 1,000,000 characters", "c" * 1_000_000, OK),
    Case("prompt: escape sequences", "\x1b]0;pwned\x07\x1b[2J\x1b[31mFix\x1b[0m the bug", OK),
    Case("prompt: 8-bit CSI and OSC", "\x9b31m\x9d0;t\x9c Fix it", OK),
    Case("prompt: bidi override", "\u202eFix the gnirts", OK),
    Case("prompt: emoji only", "🚀🔥", OK),
    Case("prompt: 100,000 lines", "line\n" * 100_000, OK),
    Case("prompt: lone surrogate", "fix \udcff this", ("not valid", "UTF-8")),
    Case("title: 10,000 characters of escapes", ("Fix it", "\x1b[31m" * 2000), OK),
    Case("follow-up: empty", ("follow", ""), "the prompt is empty"),
    Case("follow-up: NUL", ("follow", "more\x00"), "NUL"),
    Case("follow-up: 2 MB", ("follow", "d" * 2_000_000), "the limit is 1,000,000"),
]

RUN = 90.0
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "scripted")
MODELS = [
    Case("model: blank", "   ", "invalid model name"),
    Case("model: 201 characters", "m" * 201, "invalid model name"),
    Case("model: escape sequence", "\x1b[31mred", "invalid model name"),
    Case("model: newline", "scripted:demo\nx", "invalid model name"),
    Case("model: unknown", "gpt-99-ultra", "unknown model"),
    Case("model: SQL", "'; DROP TABLE tasks; --", "unknown model"),
    Case("model: fullwidth lookalike", FULLWIDTH + ":demo", "unknown model"),
    Case("model: needs an Anthropic key", "claude-sonnet-4-5", "needs ANTHROPIC_API_KEY"),
    Case("model: needs an OpenAI key", "gpt-5-mini", "needs OPENAI_API_KEY"),
    Case("model: switched off", "rel-switched-off", "switched off"),
    Case("model: default with no key", "", "needs ANTHROPIC_API_KEY"),
    Case("run: unknown scripted plan", "scripted:nope", "unknown scripted plan", timeout=RUN),
    Case("run: plan file missing", "scripted:@/nonexistent/plan.json", "No such file", timeout=RUN),
    Case("run: plan file not JSON", "scripted:@/etc/passwd", "cannot read scripted plan", timeout=RUN),
    Case("run: plan file a device", "scripted:@/dev/zero", "not a regular file", timeout=RUN),
    Case("run: plan file a folder", "scripted:@/tmp", "not a regular file", timeout=RUN),
    Case("run: plan with bad turns", "scripted:@{bad_plan}", "invalid turns", timeout=RUN),
    Case("run: compatible model without a URL", "rel-no-url", "has no base URL", timeout=RUN),
    Case("run: the demo", "scripted:demo", OK, timeout=RUN),
]  # fmt: skip


class PromptsRunner:
    def __init__(self, ctx: AppContext, root: Path, workdir: Path) -> None:
        self.ctx = ctx
        self.root = root
        self.workdir = workdir
        self.queued: Any = None

    def _request(self, prompt: str, **kw: Any) -> task_service.SubmitRequest:
        kw.setdefault("model", "scripted:echo")
        return task_service.SubmitRequest(repository=str(self.root), prompt=prompt, **kw)

    async def attempt(self, case: Case) -> str:
        if case.name.startswith("follow-up"):
            if self.queued is None:
                self.queued = await task_service.submit(self.ctx, self._request("to follow up"))
            task = await task_service.follow_up(self.ctx, self.queued.id, case.value[1])
            return f"follow-up on {task.id}"
        if case.name.startswith("title"):
            prompt, title = case.value
            task = await task_service.submit(self.ctx, self._request(prompt, title=title))
            return self._clean_title(task)
        if case.name.startswith("prompt"):
            task = await task_service.submit(self.ctx, self._request(case.value))
            stored = await task_service.get_task(self.ctx, task.id)
            if stored.prompt != case.value.strip():
                raise AssertionError("the stored prompt differs from the one given")
            return self._clean_title(task)
        model = case.value.replace("{bad_plan}", str(self.workdir / "bad-plan.json"))
        task = await task_service.submit(
            self.ctx, self._request("hostile model", model=model, max_attempts=1)
        )
        if not case.name.startswith("run"):
            return f"submitted {task.id}"
        async with running_pool(self.ctx, concurrency=1):
            done = await wait_final(self.ctx, task.id)
        if done.status.value != "completed":
            raise Refused(f"task {done.status.value}: {done.error}")
        return "completed"

    @staticmethod
    def _clean_title(task: Any) -> str:
        if not task.title.isprintable() or len(task.title) > 80:
            raise AssertionError(f"the task's title is not clean: {task.title!r}")
        return f"queued as {task.title[:40]!r}"

    async def after(self, case: Case) -> list[str]:
        return []

    async def consistent(self) -> list[str]:
        return await database_problems(self.ctx.db.pool)


class PromptsGroup:
    name = "prompts"
    cases = PROMPTS + MODELS

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        ctx = await AppContext.open(quick_settings(db_url))
        try:
            await top_up(ctx)
            root = make_repository(workdir / "prompts")
            await repos.add_repo(ctx, str(root))
            await ai_models.upsert_model(
                ctx.db.pool, name="rel-switched-off", provider="scripted", display_name="off",
                input_price=Decimal(1), output_price=Decimal(1), active=False,
            )  # fmt: skip
            await ai_models.upsert_model(
                ctx.db.pool, name="rel-no-url", provider="openai_compatible",
                display_name="no url", input_price=Decimal(0), output_price=Decimal(0),
            )  # fmt: skip
            (workdir / "bad-plan.json").write_text(json.dumps({"turns": [{"delay": "slow"}]}))
            yield PromptsRunner(ctx, root, workdir)
        finally:
            await ctx.close()


GROUP = PromptsGroup()
