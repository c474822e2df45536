"""Agent roles of tasks: which role a task runs as, and that role's row of the agents table
(its system prompt, default model and allowed tools)."""

from __future__ import annotations

from asynccoder_tui.db import agents
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.domain.enums import AgentKind, TaskMode
from asynccoder_tui.domain.errors import AsyncCoderError
from asynccoder_tui.domain.models import Agent, Task


def role_for_mode(mode: TaskMode) -> AgentKind:
    """The agent role a mode implies: the planner plans, the reviewer reviews, the coder codes."""
    return {TaskMode.PLAN: AgentKind.PLANNER, TaskMode.REVIEW: AgentKind.REVIEWER}.get(
        mode, AgentKind.CODER
    )


def role_of(task: Task) -> AgentKind:
    """The agent role a task runs as: its own, else the one its mode implies."""
    if task.agent_kind is not None:
        return task.agent_kind
    return role_for_mode(task.mode)


async def default_model_for(db: Executor, mode: TaskMode) -> str | None:
    """The default model of the agent a task of `mode` runs as, when it has one (an agent's
    default model is set in settings or `asynccoder agent set --model`)."""
    try:
        agent = await agents.agent_for_kind(db, role_for_mode(mode))
    except AsyncCoderError:
        return None
    return (agent.default_model or "").strip() or None


async def agent_for(db: Executor, task: Task) -> Agent | None:
    """The agents-table row for the task's role (its prompt and tools), None when none is set."""
    try:
        return await agents.agent_for_kind(db, role_of(task))
    except AsyncCoderError:
        return None
