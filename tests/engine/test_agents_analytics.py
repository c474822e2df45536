"""Agents as the source of each role's prompt and tools, their load kept true by the workers,
and the executions analytics of `asynccoder usage --json` checked against the rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from asynccoder_tui.agent.loop import AgentRun
from asynccoder_tui.agent.modes import build_system_prompt
from asynccoder_tui.agent.providers.scripted import scripted_provider_for
from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.engine.runner import resolve_model, role_of
from asynccoder_tui.services import repos, tasks, usage
from tests.engine.conftest import quick, running_pool, wait_for, wait_status


def test_role_prompt_is_in_the_system_prompt() -> None:
    prompt = build_system_prompt(TaskMode.CODE, role="You are the database engineer.")
    assert "Your role:\nYou are the database engineer." in prompt
    assert "Your role" not in build_system_prompt(TaskMode.CODE)


async def test_agent_tools_only_narrow_the_mode(ctx, tmp_path: Path) -> None:
    model = await resolve_model(ctx.db.pool, "scripted:echo")
    provider = scripted_provider_for("scripted:echo")
    narrowed = AgentRun(
        provider, tmp_path, model=model, prompt="x", allowed_tools=["view", "search"]
    )
    assert {s.name for s in narrowed.tools.specs()} == {"view", "search", "finish"}
    # A read-only mode stays read-only whatever the agent row allows.
    review = AgentRun(
        provider, tmp_path, model=model, prompt="x", mode=TaskMode.REVIEW,
        allowed_tools=["edit", "view", "finish"],
    )  # fmt: skip
    assert {s.name for s in review.tools.specs()} == {"view", "finish"}


async def test_loads_and_analytics_match_the_rows(ctx, settings, make_repo) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    pool_db = ctx.db.pool
    await pool_db.execute("UPDATE agents SET current_load = 7 WHERE kind = 'coder'")
    submitted = [
        await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt=prompt, model=model, mode=mode)
        )
        for prompt, model, mode in (
            ("Improve the README", "scripted:demo", TaskMode.CODE),
            ("This will fail", "scripted:fail", TaskMode.CODE),
            ("What is here?", "scripted:echo", TaskMode.REVIEW),
        )
    ]
    assert role_of(submitted[2]).value == "reviewer"
    async with running_pool(ctx, quick(settings), concurrency=2):
        for task in submitted:
            await wait_status(ctx, task.id, {"completed", "failed", "cancelled"})
        # The rescue loop puts the load back to the truth: nothing is running now.
        await wait_for(
            lambda: pool_db.fetchval(
                "SELECT sum(current_load) = 0 FROM agents WHERE kind = 'coder'"
            ),
            timeout=10,
            what="the coder load recomputed",
        )

    report = await usage.report(ctx)
    data = report.as_dict()["executions"]
    rows = await pool_db.fetch(
        "SELECT agent_kind, model, status, cost, duration_ms, files_changed, lines_added, "
        "lines_removed FROM executions WHERE status <> 'running'"
    )
    assert {r["agent_kind"] for r in rows} == {"coder", "reviewer"}
    for group, field in (("by_agent", "agent_kind"), ("by_model", "model")):
        assert set(data[group]) == {r[field] for r in rows}
        for key, figures in data[group].items():
            mine = [r for r in rows if r[field] == key]
            ok = sum(r["status"] == "succeeded" for r in mine)
            assert figures["runs"] == len(mine)
            assert figures["succeeded"] == ok
            assert figures["success_rate"] == round(ok / len(mine), 4)
            mean = sum((r["cost"] for r in mine), Decimal(0)) / len(mine)
            assert abs(Decimal(figures["mean_cost"]) - mean) < Decimal("0.000001")
            secs = sum(r["duration_ms"] or 0 for r in mine) / len(mine) / 1000
            assert abs(figures["mean_seconds"] - secs) < 0.002
            assert figures["files_changed"] == sum(r["files_changed"] for r in mine)
            assert figures["lines_added"] == sum(r["lines_added"] for r in mine)
    coder = data["by_agent"]["coder"]
    assert coder["runs"] >= 2 and coder["succeeded"] == 1 and coder["files_changed"] >= 1
    assert data["by_model"]["scripted:fail"]["success_rate"] == 0
