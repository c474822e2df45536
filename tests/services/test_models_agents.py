"""Editing models' prices and agents' roles: validation, saving, audit rows, and that the next
run reads the change."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from asynccoder_tui.config import load_settings
from asynccoder_tui.db import agents as agents_db
from asynccoder_tui.db import ai_models
from asynccoder_tui.domain.enums import AgentKind
from asynccoder_tui.domain.errors import ConflictError, InputError, NotFoundError
from asynccoder_tui.services import agents, models
from asynccoder_tui.services.agents import AgentEdit
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.models import NewModel


async def _audit(ctx: AppContext) -> list[tuple[str, str, str, dict]]:
    rows = await ctx.db.pool.fetch(
        "SELECT action, resource_type, resource_id, details FROM audit_logs ORDER BY id"
    )
    return [(r["action"], r["resource_type"], r["resource_id"], r["details"]) for r in rows]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("abc", "not a number"), ("-0.5", "negative"), ("NaN", "finite"),
     ("1e9", "too large"), ("0.0000001", "six decimal places")],
)  # fmt: skip
def test_bad_prices_are_refused_in_words(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        models.parse_price(text, "input price")


def test_prices_and_providers_that_are_accepted() -> None:
    assert models.parse_price(" $0.075 ") == Decimal("0.075")
    assert models.parse_price("3") == Decimal(3)
    assert models.parse_provider("openai-compatible").value == "openai_compatible"
    with pytest.raises(InputError, match="unknown provider"):
        models.parse_provider("scripted")
    with pytest.raises(InputError, match="http"):
        models.parse_base_url("file:///etc/passwd")
    for bad in ("http://[::1/v1", "http://localhost:99999/v1", "http://a b/v1", "localhost:8000"):
        with pytest.raises(InputError, match="http"):
            models.parse_base_url(bad)
    assert models.parse_base_url(" http://[::1]:8000/v1 ") == "http://[::1]:8000/v1"
    with pytest.raises(InputError, match="password"):
        models.parse_base_url("http://user:pw@localhost:8000/v1")


async def test_price_edit_is_saved_and_audited(db_url: str, home: Path) -> None:
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        saved = await models.update_model(
            ctx, "claude-haiku-4-5", {"input_price": "0.8", "output_price": "4", "active": False}
        )
        assert (saved.input_price, saved.output_price, saved.active) == (
            Decimal("0.8"), Decimal(4), False,
        )  # fmt: skip
        again = await ai_models.get_model(ctx.db.pool, "claude-haiku-4-5")
        assert again.input_price == Decimal("0.8") and not again.active
        assert "claude-haiku-4-5" not in {m.name for m in await models.list_models(ctx)}
        [(action, kind, name, details)] = await _audit(ctx)
        assert (action, kind, name) == ("ai_model.changed", "ai_model", "claude-haiku-4-5")
        assert details["changes"]["input_price"] == {"from": "1.000000", "to": "0.8"}
        assert details["changes"]["active"] == {"from": True, "to": False}
        assert "output_price" in details["changes"] and "cache_read_price" not in details["changes"]

        # Nothing really changed: no write, no audit row.
        await models.update_model(ctx, "claude-haiku-4-5", {"input_price": "0.800"})
        assert len(await _audit(ctx)) == 1
        with pytest.raises(InputError, match="negative"):
            await models.set_price(ctx, "claude-haiku-4-5", output_price="-3")
        with pytest.raises(NotFoundError):
            await models.set_price(ctx, "no-such-model", input_price="1")
        with pytest.raises(InputError, match="cannot be changed"):
            await models.update_model(ctx, "gpt-5", {"provider": "anthropic"})
        assert len(await _audit(ctx)) == 1
        assert (await ai_models.get_model(ctx.db.pool, "claude-haiku-4-5")).output_price == 4
    finally:
        await ctx.close()


async def test_adding_a_model_checks_provider_name_and_base_url(db_url: str, home: Path) -> None:
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        with pytest.raises(InputError, match="base URL"):
            await models.add_model(ctx, NewModel("openai-compatible", "qwen3:8b", "0", "0"))
        with pytest.raises(InputError, match="unknown provider"):
            await models.add_model(ctx, NewModel("acme", "qwen3:8b", "0", "0"))
        with pytest.raises(InputError, match="spaces"):
            await models.add_model(ctx, NewModel("openai", "two words", "1", "1"))
        with pytest.raises(ConflictError, match="exists already"):
            await models.add_model(ctx, NewModel("openai", "gpt-5", "1", "1"))
        assert await _audit(ctx) == []
        model = await models.add_model(
            ctx,
            NewModel("openai-compatible", "qwen3:8b", "0", "0.1",
                     base_url="http://localhost:11434/v1", context_window="32,768"),
        )  # fmt: skip
        assert model.provider.value == "openai_compatible" and model.context_window == 32_768
        assert model.display_name == "qwen3:8b" and model.active
        [(action, _, name, details)] = await _audit(ctx)
        assert (action, name) == ("ai_model.added", "qwen3:8b")
        assert details["base_url"] == "http://localhost:11434/v1"
        with pytest.raises(InputError, match="base URL"):
            await models.update_model(ctx, "qwen3:8b", {"base_url": ""})
    finally:
        await ctx.close()


async def test_agent_edit_is_validated_saved_audited_and_read_by_the_next_run(
    db_url: str, home: Path
) -> None:
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        coder = await agents.find(ctx, "coder")
        assert coder.name == "Coder" and coder.allowed_tools is None
        await models.set_enabled(ctx, "gpt-4.1", False)
        edit = AgentEdit("  Be brief.\nTest first.  ", "gpt-5", ["view", "edit", "run"], True)
        for bad, problem in [
            (AgentEdit("   ", None, None, True), "empty"),
            (AgentEdit("x", "gpt-4.1", None, True), "not an enabled model"),
            (AgentEdit("x", "nope", None, True), "not an enabled model"),
            (AgentEdit("x", None, ["view", "rm_rf"], True), "rm_rf"),
            (AgentEdit("x", None, ["finish"], True), "at least one tool"),
        ]:
            with pytest.raises(InputError, match=problem):
                await agents.update_agent(ctx, "Coder", bad)
        saved = await agents.update_agent(ctx, "Coder", edit)
        assert saved.system_prompt == "Be brief.\nTest first."
        assert saved.allowed_tools == ["view", "edit", "run", "finish"]
        # What the runner reads when the next run starts (engine.roles -> agent_for_kind).
        role = await agents_db.agent_for_kind(ctx.db.pool, AgentKind.CODER)
        assert (role.system_prompt, role.default_model) == ("Be brief.\nTest first.", "gpt-5")
        audit = await _audit(ctx)
        action, kind, name, details = audit[-1]
        assert (action, kind, name) == ("agent.changed", "agent", "Coder")
        assert details["changes"]["system_prompt"]["to_chars"] == len("Be brief.\nTest first.")
        assert "Be brief" not in str(details)
        assert details["changes"]["default_model"] == {"from": None, "to": "gpt-5"}

        # Every tool chosen is stored as "the mode's tools"; disabling hides it from runs.
        every = list(agents.CHOOSABLE_TOOLS)
        saved = await agents.update_agent(
            ctx, "Coder", AgentEdit(saved.system_prompt, "gpt-5", every, False)
        )
        assert saved.allowed_tools is None and not saved.active
        with pytest.raises(NotFoundError):
            await agents_db.agent_for_kind(ctx.db.pool, AgentKind.CODER)
        # A model disabled since it was chosen does not block other edits.
        await models.set_enabled(ctx, "gpt-5", False)
        saved = await agents.change_agent(ctx, "coder", active=True)
        assert saved.active and saved.default_model == "gpt-5"
        count = len(await _audit(ctx))
        await agents.change_agent(ctx, "Coder", active=True)  # no change, no row
        assert len(await _audit(ctx)) == count
    finally:
        await ctx.close()


async def test_seeded_tool_names_are_the_loops_own(db_url: str, home: Path) -> None:
    from asynccoder_tui.agent.tools import ALL_TOOLS

    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        for agent in await agents.list_agents(ctx):
            assert set(agent.allowed_tools or ()) <= set(ALL_TOOLS), agent.name
        analyst = await agents.find(ctx, "data_analyst")
        assert analyst.allowed_tools == ["view", "list_files", "search", "run", "finish"]
        # A stored name the loop does not know does not block an edit of something else.
        await ctx.db.pool.execute(
            "UPDATE agents SET allowed_tools = '{view,old_tool,finish}' WHERE kind = 'planner'"
        )
        saved = await agents.change_agent(ctx, "planner", default_model="gpt-5")
        assert saved.allowed_tools == ["view", "finish"] and saved.default_model == "gpt-5"
    finally:
        await ctx.close()
