"""Provider faults: tasks run through the real Anthropic and OpenAI SDKs against a local model
(`model_server.py`) that fails a share of its turns in every way the APIs do.

Afterwards: every task completed, or ended failed with a clear message; no tool call ran twice
(the `run` step appends a line to `ran.log`, the `create` step refuses a second run); every
retry waited at least what `retry-after` asked and at most the policy's bound; and the bill
matches what the server reported: each completed call's usage exactly, each call that failed
after the server reported usage at the server's input figure, and nothing for calls that were
refused before an answer.

The model calls time out after 2 s here (`short_request_timeout`; 120 s in production) so
the stall fault costs seconds, not minutes; everything else runs as in production.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.db import ai_models
from asynccoder_tui.db.bus import EventBus
from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.engine import runner as runner_module
from asynccoder_tui.engine.credits import credits_for
from asynccoder_tui.engine.pool import WorkerPool
from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.services.context import AppContext
from tests.reliability.harness import git, make_repository, poll, quick_settings, top_up
from tests.reliability.invariants import database_problems
from tests.reliability.model_server import FAULTS, ModelServer, Request

ANTHROPIC_KEY = "sk-ant-api03-reliability-fake-anthropic-key-0001"
OPENAI_KEY = "sk-proj-reliability-fake-openai-key-000000000001"
REQUEST_TIMEOUT = 2.0
POLICY = RetryPolicy(max_retries=6, base_delay=0.2, max_delay=2.0, max_total_wait=30.0)
FINAL = ("completed", "failed", "cancelled")
FAULTS_SEEN = FAULTS


@contextlib.contextmanager
def short_request_timeout(seconds: float) -> Iterator[None]:
    """Model calls of the engine's runs time out after `seconds` (the stall fault)."""
    original = runner_module.run_agent
    runner_module.run_agent = functools.partial(original, request_timeout=seconds)  # type: ignore[assignment]
    try:
        yield
    finally:
        runner_module.run_agent = original  # type: ignore[assignment]


@dataclass
class ProviderFaultReport:
    tasks: int = 0
    completed: int = 0
    failed_clearly: int = 0
    requests: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    unclear: list[str] = field(default_factory=list)
    double_runs: list[str] = field(default_factory=list)
    backoff: list[str] = field(default_factory=list)
    billing: list[str] = field(default_factory=list)
    database: list[str] = field(default_factory=list)
    retries: int = 0

    @property
    def turns_faulted(self) -> int:
        return sum(self.faults.values())

    def line(self) -> str:
        share = self.turns_faulted / max(1, self.requests)
        return (
            f"provider_faults: {self.tasks} tasks, {self.turns_faulted} of {self.requests} "
            f"calls faulted ({share:.0%}: {dict(sorted(self.faults.items()))}), "
            f"{self.completed} completed, {self.failed_clearly} failed clearly, "
            f"{len(self.unclear)} unclear, {len(self.double_runs)} tool calls run twice, "
            f"{len(self.backoff)} backoff violations, {len(self.billing)} billing mismatches, "
            f"{len(self.database)} database problems"
        )

    def problems(self) -> list[str]:
        return [*self.unclear, *self.double_runs, *self.backoff, *self.billing, *self.database]


async def provider_fault_round(
    db_url: str,
    workdir: Path,
    *,
    tasks: int = 50,
    fault_rate: float = 0.2,
    seed: int = 11,
    concurrency: int = 4,
    timeout: float = 600.0,
) -> ProviderFaultReport:
    # One task in 25 meets a refusal not worth retrying (401): it must fail, clearly.
    fatal = frozenset(f"rt{n:03d}" for n in range(tasks) if n % 25 == 11)
    server = ModelServer(
        fault_rate=fault_rate, seed=seed, stall_seconds=REQUEST_TIMEOUT + 2, fatal_tags=fatal
    )
    settings = quick_settings(
        db_url,
        anthropic_api_key=SecretStr(ANTHROPIC_KEY),
        openai_api_key=SecretStr(OPENAI_KEY),
        task_max_seconds=600,
    )
    ctx = await AppContext.open(settings)
    report = ProviderFaultReport(tasks=tasks)
    try:
        await top_up(ctx)
        root = make_repository(workdir / "project")
        await repos.add_repo(ctx, str(root))
        for name, provider, base in (
            ("rel-claude", "anthropic", server.url),
            ("rel-gpt", "openai", f"{server.url}/v1"),
        ):
            await ai_models.upsert_model(
                ctx.db.pool, name=name, provider=provider, display_name=name,
                input_price=Decimal(3), output_price=Decimal(15), base_url=base,
            )  # fmt: skip
        submitted = {}
        for number in range(tasks):
            tag = f"rt{number:03d}"
            task = await task_service.submit(
                ctx,
                task_service.SubmitRequest(
                    repository=str(root),
                    prompt=f"[task {tag}] Write the notes file and record the run.",
                    model="rel-claude" if number % 2 == 0 else "rel-gpt",
                ),
            )
            submitted[tag] = task.id
        bus = EventBus(ctx.db.url)
        await bus.start()
        pool = WorkerPool(
            ctx.db.pool, settings, concurrency=concurrency, bus=bus, retry_policy=POLICY,
            backoff_base=0.2, poll_interval=0.3, rescue_interval=0.5,
        )  # fmt: skip
        try:
            with short_request_timeout(REQUEST_TIMEOUT):
                await pool.start()

                async def all_final() -> bool:
                    left = await ctx.db.pool.fetchval(
                        "SELECT count(*) FROM tasks WHERE status <> ALL($1::text[])", list(FINAL)
                    )
                    return left == 0

                await poll(all_final, timeout=timeout, what="every task to end")
        finally:
            await pool.stop()
            await bus.stop()
        report.requests = len(server.requests)
        report.faults = Counter(r.fault for r in server.requests if r.fault)
        for tag, task_id in submitted.items():
            await _check_task(ctx, root, tag, task_id, server, report)
        report.database = await database_problems(ctx.db.pool)
    finally:
        await ctx.close()
        server.close()
    return report


async def _check_task(
    ctx: AppContext, root: Path, tag: str, task_id: Any, server: ModelServer,
    report: ProviderFaultReport,
) -> None:  # fmt: skip
    task = await task_service.get_task(ctx, task_id)
    events = await task_service.transcript(ctx, task.id)
    if task.status.value == "completed" and task.summary == f"done {tag}":
        report.completed += 1
        ran = git(root, "show", f"{task.commit_sha}:ran.log", check=False).splitlines()
        if ran != [tag]:
            report.double_runs.append(f"{tag}: ran.log holds {ran}")
    elif (
        task.status.value == "failed"
        and tag in server.fatal_tags
        and (task.error or "").startswith("model API: ")
        and "401" in (task.error or "")
        and "check the API key" in (task.error or "")
    ):
        report.failed_clearly += 1
    else:
        report.unclear.append(f"{tag}: {task.status.value}: {task.error!r}")
    calls = Counter(e.payload.get("name") for e in events if e.kind is EventKind.TOOL_CALL)
    bad = {name: n for name, n in calls.items() if n > 1}
    failed_results = [
        e.payload for e in events if e.kind is EventKind.TOOL_RESULT and not e.payload.get("ok")
    ]
    if bad or failed_results:
        report.double_runs.append(f"{tag}: tool calls {dict(calls)}, failed {failed_results}")
    mine = [r for r in server.requests if r.tag == tag]
    _check_backoff(tag, mine, events, report)
    _check_billing(tag, mine, events, task, ctx.settings.credits_per_usd, report)


def _check_backoff(
    tag: str, mine: list[Request], events: list[Any], report: ProviderFaultReport
) -> None:
    retries = [e.payload for e in events if e.kind is EventKind.RETRY]
    report.retries += len(retries)
    for retry in retries:
        delay = float(retry.get("delay", -1))
        if not 0 <= delay <= POLICY.max_delay + 1e-6:
            report.backoff.append(f"{tag}: announced delay {delay} outside [0, {POLICY.max_delay}]")
        if int(retry.get("attempt", 0)) > POLICY.max_retries:
            report.backoff.append(f"{tag}: retry {retry.get('attempt')} past the policy's limit")
    by_step: dict[int, list[Request]] = {}
    for request in mine:
        by_step.setdefault(request.step, []).append(request)
    for step, attempts in by_step.items():
        attempts.sort(key=lambda r: r.attempt)
        for failed, following in itertools.pairwise(attempts):
            if failed.fault is None:
                continue
            gave_up = failed.started + (REQUEST_TIMEOUT if failed.fault == "timeout" else 0.0)
            gap = following.started - (failed.ended if failed.fault != "timeout" else gave_up)
            if failed.fault == "429_retry_after" and gap < 1.0 - 0.05:
                report.backoff.append(f"{tag} step {step}: retried {gap:.2f} s after retry-after 1")
            if gap > POLICY.max_delay + 3.0:
                report.backoff.append(f"{tag} step {step}: waited {gap:.2f} s after {failed.fault}")


def _check_billing(
    tag: str, mine: list[Request], events: list[Any], task: Any, rate: int,
    report: ProviderFaultReport,
) -> None:  # fmt: skip
    usage = [
        e.payload for e in events if e.kind is EventKind.USAGE and not e.payload.get("settlement")
    ]
    billed_ok = sorted(
        (u["input_tokens"], u["output_tokens"]) for u in usage if not u.get("failed")
    )
    reported_ok = sorted(r.reported for r in mine if r.outcome == "complete" and r.reported)
    if billed_ok != reported_ok:
        report.billing.append(f"{tag}: billed {billed_ok}, server reported {reported_ok}")
    failed = [u for u in usage if u.get("failed")]
    partial = [r for r in mine if r.outcome in ("partial", "broken")]
    if len(failed) != len(partial):
        report.billing.append(f"{tag}: {len(failed)} failed calls billed, {len(partial)} answered")
    # Anthropic reports input usage first thing in its stream; OpenAI only at the end, so a
    # broken OpenAI stream is billed at our own estimate.
    reported_inputs = sorted(r.reported[0] for r in partial if r.reported)
    billed_inputs = sorted(u["input_tokens"] for u in failed) if reported_inputs else []
    if billed_inputs != reported_inputs:
        report.billing.append(
            f"{tag}: failed calls billed inputs {billed_inputs}, server {reported_inputs}"
        )
    for u, r in zip(
        sorted(failed, key=lambda u: u["input_tokens"]),
        sorted(
            (r for r in partial if r.reported), key=lambda r: r.reported[0] if r.reported else 0
        ),
        strict=False,
    ):
        if r.reported and u["output_tokens"] < r.reported[1]:
            report.billing.append(f"{tag}: a failed call billed fewer output tokens than reported")
    cost = sum((Decimal(str(u["cost"])) for u in usage), Decimal(0))
    if cost != Decimal(str(task.cost)):
        report.billing.append(f"{tag}: calls cost {cost}, task cost {task.cost}")
    if task.used_credits != credits_for(cost, rate):
        report.billing.append(f"{tag}: debited {task.used_credits} credits for ${cost}")
