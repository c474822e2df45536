"""A task submitted without a model runs on its role's agent default model when one is set,
else on the `default_model` setting; an explicit model always wins."""

from __future__ import annotations

from asynccoder_tui.config import load_settings
from asynccoder_tui.domain.enums import TaskMode
from asynccoder_tui.services import agents, repos, tasks
from asynccoder_tui.services.agents import AgentEdit
from asynccoder_tui.services.context import AppContext


async def test_the_role_default_model_then_the_setting(db_url: str, make_repo) -> None:
    root = make_repo("widgets")
    settings = load_settings(
        database_url=db_url, default_model="scripted:demo", openai_api_key="sk-test-not-called"
    )
    ctx = await AppContext.open(settings)
    try:
        await repos.add_repo(ctx, str(root))

        async def submit(mode: TaskMode, model: str | None = None) -> str:
            request = tasks.SubmitRequest(
                repository=str(root), prompt="Tidy the README", mode=mode, model=model
            )
            return (await tasks.submit(ctx, request)).model

        # Seeded roles have no default model of their own: the setting decides.
        assert await submit(TaskMode.CODE) == "scripted:demo"
        assert await submit(TaskMode.PLAN) == "scripted:demo"

        current = await agents.find(ctx, "Planner")
        await agents.update_agent(
            ctx, "Planner",
            AgentEdit(current.system_prompt, "gpt-5-mini", current.allowed_tools, True),
        )  # fmt: skip
        assert await submit(TaskMode.PLAN) == "gpt-5-mini"
        assert await submit(TaskMode.CODE) == "scripted:demo"  # the coder has none
        assert await submit(TaskMode.PLAN, "scripted:echo") == "scripted:echo"
        estimate = await tasks.estimate(ctx, "Plan it", mode=TaskMode.PLAN)
        assert estimate.model.name == "gpt-5-mini"
    finally:
        await ctx.close()
