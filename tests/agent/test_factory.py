"""`make_provider`, the named scripted plans, plans as data, modes, and lazy SDK imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from asynccoder_tui.agent import ExitStatus, SubprocessRunner, run_agent
from asynccoder_tui.agent.modes import build_system_prompt, mode_spec
from asynccoder_tui.agent.providers import NAMED_PLANS, make_provider
from asynccoder_tui.agent.providers.anthropic import AnthropicProvider
from asynccoder_tui.agent.providers.openai import OpenAIChatProvider, OpenAIResponsesProvider
from asynccoder_tui.agent.providers.scripted import ScriptedProvider
from asynccoder_tui.domain.enums import EventKind, ProviderKind, ResultType, TaskMode
from asynccoder_tui.domain.errors import ConfigError
from tests.agent.conftest import Recorder, make_model
from tests.agent.history_checks import check_all


def test_factory_picks_the_provider_by_kind() -> None:
    anthropic = make_provider(
        make_model("claude-sonnet-4-5", ProviderKind.ANTHROPIC),
        anthropic_api_key=SecretStr("sk-ant-x"),
    )
    assert isinstance(anthropic, AnthropicProvider) and anthropic.supports_prompt_cache
    openai = make_provider(make_model("gpt-5", ProviderKind.OPENAI), openai_api_key="sk-x")
    assert isinstance(openai, OpenAIResponsesProvider)
    chat_only = make_provider(
        make_model("gpt-x", ProviderKind.OPENAI, capabilities=["chat_completions"]),
        openai_api_key="sk-x",
    )
    assert isinstance(chat_only, OpenAIChatProvider)
    local = make_provider(
        make_model("qwen", ProviderKind.OPENAI_COMPATIBLE, base_url="http://localhost:11434/v1")
    )
    assert isinstance(local, OpenAIChatProvider) and local.kind is ProviderKind.OPENAI_COMPATIBLE
    scripted = make_provider(make_model("scripted:echo", ProviderKind.ANTHROPIC))
    assert isinstance(scripted, ScriptedProvider)


def test_factory_says_which_key_is_missing() -> None:
    with pytest.raises(ConfigError) as missing:
        make_provider(make_model("claude-x", ProviderKind.ANTHROPIC))
    assert "ANTHROPIC_API_KEY" in str(missing.value)
    with pytest.raises(ConfigError) as no_url:
        make_provider(make_model("qwen", ProviderKind.OPENAI_COMPATIBLE))
    assert "base URL" in str(no_url.value)
    with pytest.raises(ConfigError) as unknown:
        make_provider(make_model("scripted:nope"))
    assert "scripted:demo" in str(unknown.value)


def test_importing_the_agent_does_not_import_the_sdks() -> None:
    code = (
        "import sys, asynccoder_tui.agent, asynccoder_tui.agent.loop, asynccoder_tui.agent.providers;"
        "from asynccoder_tui.agent.providers import make_provider;"
        "import asynccoder_tui.agent.providers.anthropic, asynccoder_tui.agent.providers.openai;"
        "bad = [m for m in ('anthropic', 'openai', 'tiktoken', 'httpx2') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


async def test_demo_plan_views_edits_runs_and_finishes(workspace: Path, recorder: Recorder) -> None:
    provider = make_provider(make_model("scripted:demo"))
    outcome = await run_agent(
        provider,
        workspace,
        model=make_model("scripted:demo"),
        prompt="demo",
        runner=SubprocessRunner(),
        emit=recorder,
    )
    assert outcome.exit_status is ExitStatus.SUBMITTED
    names = [p["name"] for p in recorder.of(EventKind.TOOL_CALL)]
    assert names == ["list_files", "view", "insert", "run", "finish"]
    assert "Touched by the Async Coder demo." in (workspace / "README.md").read_text()
    assert outcome.changed_paths == ["README.md"]
    check_all(outcome.conversation)


async def test_demo_plan_in_an_empty_repository(tmp_path: Path) -> None:
    outcome = await run_agent(
        make_provider(make_model("scripted:demo")),
        tmp_path,
        model=make_model("scripted:demo"),
        prompt="demo",
        runner=SubprocessRunner(),
    )
    assert outcome.exit_status is ExitStatus.SUBMITTED
    assert (tmp_path / "DEMO_NOTES.md").read_text().startswith("# Demo notes")


@pytest.mark.parametrize(
    ("plan", "status"),
    [
        ("echo", ExitStatus.SUBMITTED),
        ("fail", ExitStatus.API_ERROR),
        ("loop", ExitStatus.STEP_LIMIT),
    ],
)
async def test_named_plans(workspace: Path, plan: str, status: ExitStatus) -> None:
    from asynccoder_tui.agent import Budget

    model = make_model(f"scripted:{plan}")
    outcome = await run_agent(
        make_provider(model), workspace, model=model, prompt="say hi", budget=Budget(max_steps=4)
    )
    assert outcome.exit_status is status
    if plan == "echo":
        assert outcome.summary == "say hi"
    assert set(NAMED_PLANS) >= {"demo", "echo", "fail", "slow", "flaky", "loop"}


async def test_plan_from_a_json_file(workspace: Path, tmp_path: Path) -> None:
    plan = [
        {"text": "Looking", "tool_calls": [{"name": "view", "arguments": {"path": "README.md"}}]},
        {"tool_calls": [{"name": "finish", "arguments": {"summary": "from file"}}]},
    ]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    model = make_model(f"scripted:@{path}")
    outcome = await run_agent(make_provider(model), workspace, model=model, prompt="x")
    assert outcome.summary == "from file"


def test_modes() -> None:
    for mode in TaskMode:
        spec = mode_spec(mode)
        assert spec.read_only == mode.read_only
        writes = {"edit", "create", "insert", "run"} & set(spec.tools)
        assert bool(writes) != spec.read_only
        assert "finish" in spec.tools
    assert mode_spec("review").result_type is ResultType.REVIEW
    assert mode_spec("documentation").result_type is ResultType.DOCUMENTATION
    prompt = build_system_prompt("debug", instructions="Use tabs.", repo_map="a.py")
    assert "root cause" in prompt and "Use tabs." in prompt and "a.py" in prompt
