"""Agent roles: system prompt, default model, allowed tools, and the load workers keep true."""

from __future__ import annotations

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.enums import AgentKind
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import Agent

_COLUMNS = """id, kind, name, system_prompt, default_model, allowed_tools, capabilities,
    current_load, active"""


async def list_agents(db: Executor) -> list[Agent]:
    return many(Agent, await db.fetch(f"SELECT {_COLUMNS} FROM agents ORDER BY kind, name"))


async def agent_for_kind(db: Executor, kind: AgentKind) -> Agent:
    agent = one(
        Agent,
        await db.fetchrow(
            f"SELECT {_COLUMNS} FROM agents WHERE kind = $1 AND active ORDER BY name LIMIT 1",
            kind.value,
        ),
    )
    if agent is None:
        raise NotFoundError(f"no active {kind.value} agent is configured")
    return agent


async def update_agent(
    db: Executor, name: str, *, system_prompt: str | None = None, default_model: str | None = None
) -> Agent:
    agent = one(
        Agent,
        await db.fetchrow(
            f"""UPDATE agents SET system_prompt = coalesce($2, system_prompt),
                    default_model = coalesce($3, default_model)
                WHERE name = $1 RETURNING {_COLUMNS}""",
            name,
            system_prompt,
            default_model,
        ),
    )
    if agent is None:
        raise NotFoundError(f"agent {name!r} not found")
    return agent


async def find_agent(db: Executor, name: str) -> Agent | None:
    return one(Agent, await db.fetchrow(f"SELECT {_COLUMNS} FROM agents WHERE name = $1", name))


async def first_of_kind(db: Executor, kind: AgentKind) -> Agent | None:
    """The agent of `kind` a task would run as (active first), or None."""
    return one(
        Agent,
        await db.fetchrow(
            f"SELECT {_COLUMNS} FROM agents WHERE kind = $1 ORDER BY NOT active, name LIMIT 1",
            kind.value,
        ),
    )


async def save_agent(
    db: Executor,
    name: str,
    *,
    system_prompt: str,
    default_model: str | None,
    allowed_tools: list[str] | None,
    active: bool,
) -> Agent:
    """Set every editable field of one agent (None clears the model; None tools: the mode's)."""
    agent = one(
        Agent,
        await db.fetchrow(
            f"""UPDATE agents SET system_prompt = $2, default_model = $3, allowed_tools = $4,
                    active = $5
                WHERE name = $1 RETURNING {_COLUMNS}""",
            name,
            system_prompt,
            default_model,
            allowed_tools,
            active,
        ),
    )
    if agent is None:
        raise NotFoundError(f"agent {name!r} not found")
    return agent


async def adjust_load(db: Executor, kind: AgentKind, delta: int) -> None:
    """Change the current load of the agents of `kind` (never below zero)."""
    await db.execute(
        "UPDATE agents SET current_load = greatest(current_load + $2, 0) WHERE kind = $1",
        kind.value,
        delta,
    )


# The role a task runs as: its own agent kind, else the one its mode implies.
_TASK_ROLE = """coalesce(t.agent_kind, CASE t.mode WHEN 'plan' THEN 'planner'
                                       WHEN 'review' THEN 'reviewer' ELSE 'coder' END)"""


async def recompute_loads(db: Executor) -> int:
    """Set each agent's `current_load` to the number of running tasks of its kind (the truth,
    whatever runs crashed without decrementing); returns how many rows changed."""
    status = await db.execute(
        f"""WITH load AS (
                SELECT a.id, (SELECT count(*) FROM tasks t
                              WHERE t.status = 'running' AND {_TASK_ROLE} = a.kind)::int AS n
                FROM agents a)
            UPDATE agents a SET current_load = load.n FROM load
            WHERE a.id = load.id AND a.current_load <> load.n"""
    )
    return int(status.split()[-1]) if status else 0
