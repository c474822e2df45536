"""An agent edited in settings is what the next run uses: its system prompt reaches the
provider and its tool list narrows the tools the provider is offered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from asynccoder_tui.engine import runner
from asynccoder_tui.services import agents, repos, tasks
from tests.engine.conftest import quick, running_pool, wait_status


async def test_next_run_uses_the_edited_agent(
    ctx: Any, settings: Any, make_repo: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made: list[Any] = []
    real = runner.make_provider

    def recording(*args: Any, **kwargs: Any) -> Any:
        provider = real(*args, **kwargs)
        made.append(provider)
        return provider

    monkeypatch.setattr(runner, "make_provider", recording)
    root = make_repo()
    await repos.add_repo(ctx, str(root))

    async def run_one(prompt: str) -> dict[str, Any]:
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt=prompt, model="scripted:echo")
        )
        async with running_pool(ctx, quick(settings)):
            done = await wait_status(ctx, task.id, {"completed", "failed", "cancelled"})
        assert done.status.value == "completed", done.error
        return made[-1].requests[0]

    first = await run_one("Say hello")
    assert "You are a careful software engineer" in first["system"]
    assert {"edit", "run"} <= set(first["tools"])

    await agents.change_agent(
        ctx, "coder", system_prompt="You are the settings-test engineer.",
        allowed_tools=["view", "search"],
    )  # fmt: skip
    second = await run_one("Say hello again")
    assert "You are the settings-test engineer." in second["system"]
    assert "careful software engineer" not in second["system"]
    assert second["tools"] == ["view", "search", "finish"]
