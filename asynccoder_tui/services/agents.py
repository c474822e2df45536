"""Agent roles as settings: list them, and change one's system prompt, default model, allowed
tools and enabled flag, for the settings screen and `asynccoder agent ...`.

Every change is validated here (a prompt that is not empty, an enabled model, tools the agent
loop knows), saved with an audit row in one transaction, and takes effect for the next run: the
runner reads the role's row of the agents table each time a run starts. A prompt's text is not
copied into the audit row (only its length): the row says what changed, not the whole prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from asynccoder_tui.agent.tools import ALL_TOOLS
from asynccoder_tui.db import agents, ai_models, audit
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind
from asynccoder_tui.domain.errors import InputError, NotFoundError
from asynccoder_tui.domain.models import Agent
from asynccoder_tui.services.context import AppContext

# `finish` is always allowed (the loop adds it), so it is not offered as a choice.
CHOOSABLE_TOOLS: tuple[str, ...] = tuple(t for t in ALL_TOOLS if t != "finish")
MAX_PROMPT_CHARS = 50_000


@dataclass(frozen=True)
class AgentEdit:
    """An agent's editable fields as a person sets them. `allowed_tools` None: every tool the
    task's mode allows; a list narrows that (a read-only mode stays read-only)."""

    system_prompt: str
    default_model: str | None
    allowed_tools: list[str] | None
    active: bool


async def list_agents(ctx: AppContext) -> list[Agent]:
    return await agents.list_agents(ctx.db.pool)


async def find(ctx: AppContext, ref: str) -> Agent:
    """An agent by its name (`Coder`) or its role (`coder`: the one tasks of that role use)."""
    text = ref.strip()
    agent = await agents.find_agent(ctx.db.pool, text)
    if agent is None and text.lower() in {k.value for k in AgentKind}:
        agent = await agents.first_of_kind(ctx.db.pool, AgentKind(text.lower()))
    if agent is None:
        raise NotFoundError(
            f"no agent named {text[:60]!r}", hint="`asynccoder agent list` shows the agents"
        )
    return agent


def edit_of(agent: Agent) -> AgentEdit:
    return AgentEdit(agent.system_prompt, agent.default_model, agent.allowed_tools, agent.active)


def check_prompt(text: str) -> str:
    prompt = text.strip()
    if not prompt:
        raise InputError("the system prompt is empty", hint="say what this agent is and does")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(f"the system prompt is longer than {MAX_PROMPT_CHARS:,} characters")
    if "\x00" in prompt:
        raise InputError("the system prompt holds a NUL character")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("the system prompt holds characters that are not valid text") from None
    return prompt


def check_tools(tools: Sequence[str] | None) -> list[str] | None:
    """None stays None (every tool of the mode); a list is checked, ordered, and becomes None
    when it names every tool."""
    if tools is None:
        return None
    chosen = {t.strip() for t in tools if t.strip()}
    unknown = chosen - set(ALL_TOOLS)
    if unknown:
        raise InputError(
            f"unknown tool(s): {', '.join(sorted(unknown))}",
            hint=f"the tools are {', '.join(CHOOSABLE_TOOLS)}",
        )
    chosen.discard("finish")
    if not chosen:
        raise InputError("choose at least one tool", hint="`view` lets the agent read files")
    if chosen == set(CHOOSABLE_TOOLS):
        return None
    return [t for t in ALL_TOOLS if t in chosen or t == "finish"]


async def _check_model(conn: Any, name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    model = await ai_models.find_model(conn, name.strip())
    if model is None or not model.active:
        raise InputError(
            f"{name.strip()[:60]!r} is not an enabled model",
            hint="choose one from `asynccoder model list`, or enable it first",
        )
    return model.name


def _details(before: Agent, after: AgentEdit) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if before.system_prompt != after.system_prompt:
        changes["system_prompt"] = {
            "from_chars": len(before.system_prompt),
            "to_chars": len(after.system_prompt),
        }
    for key in ("default_model", "allowed_tools", "active"):
        old, new = getattr(before, key), getattr(after, key)
        if old != new:
            changes[key] = {"from": old, "to": new}
    return changes


async def update_agent(ctx: AppContext, name: str, edit: AgentEdit) -> Agent:
    """Validate and save every editable field of one agent, with an audit row of what changed."""
    prompt = check_prompt(edit.system_prompt)
    tools = check_tools(edit.allowed_tools)
    async with transaction(ctx.db.pool) as conn:
        current = await agents.find_agent(conn, name)
        if current is None:
            raise NotFoundError(f"no agent named {name[:60]!r}")
        model = edit.default_model
        if model != current.default_model:  # an unchanged model may since have been disabled
            model = await _check_model(conn, model)
        checked = AgentEdit(prompt, model, tools, bool(edit.active))
        changes = _details(current, checked)
        if not changes:
            return current
        saved = await agents.save_agent(
            conn, name, system_prompt=prompt, default_model=model, allowed_tools=tools,
            active=checked.active,
        )  # fmt: skip
        await audit.record(
            conn, user_id=ctx.user.id, action="agent.changed", resource_type="agent",
            resource_id=name, details={"kind": current.kind.value, "changes": changes},
        )  # fmt: skip
    return saved


async def change_agent(
    ctx: AppContext,
    ref: str,
    *,
    system_prompt: str | None = None,
    default_model: str | None = None,
    allowed_tools: Sequence[str] | None = None,
    active: bool | None = None,
) -> Agent:
    """Change some fields of an agent (by name or role), keeping the others as they are."""
    agent = await find(ctx, ref)
    edit = edit_of(agent)
    if edit.allowed_tools is not None and allowed_tools is None:
        # Kept as they are, except names the agent loop does not know (they never applied).
        edit = replace(edit, allowed_tools=[t for t in edit.allowed_tools if t in ALL_TOOLS])
    return await update_agent(
        ctx,
        agent.name,
        AgentEdit(
            system_prompt if system_prompt is not None else edit.system_prompt,
            default_model if default_model is not None else edit.default_model,
            list(allowed_tools) if allowed_tools is not None else edit.allowed_tools,
            active if active is not None else edit.active,
        ),
    )
