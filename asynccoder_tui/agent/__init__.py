"""The agent: turns a prompt and a workspace into edits, a transcript and a bill.

It knows nothing of the database or Textual. The engine gives it a provider, a workspace path,
a budget, a command runner and an `emit(event)` callback, and gets an `Outcome` back. It may
import only `asynccoder_tui.domain`, `asynccoder_tui.config` and third-party libraries, and
importing it must not import the `anthropic` or `openai` SDKs (they load on first use).

The surface the engine uses
---------------------------

Pick a provider for a model::

    provider = make_provider(
        model,                                   # domain.models.AIModel
        anthropic_api_key=settings.anthropic_api_key,   # str | SecretStr | None
        openai_api_key=settings.openai_api_key,
        anthropic_base_url=settings.anthropic_base_url,
        openai_base_url=settings.openai_base_url,
        compatible_api_key=None,                 # key for an OpenAI-compatible endpoint
    )

`scripted:<plan>` model names (`scripted:demo`, `echo`, `fail`, `slow`, `flaky`, `loop`, or
`scripted:@plan.json`) need no key and no network. `ScriptedProvider(plan)` takes a plan as data.

Run it::

    outcome = await run_agent(
        provider, workspace_path,
        model=model,                    # prices, context window, max output
        prompt="Fix the failing test",  # and/or conversation=conversation_from_json(stored)
        mode=TaskMode.CODE,             # ask, architect, review and plan are read-only
        budget=Budget(max_steps=50, max_seconds=1800, max_cost=Decimal("2.00")),
        runner=sandbox_runner,          # a domain.commands.CommandRunner; None disables `run`
        emit=on_event,                  # sync or async callable taking an AgentEvent
        cancel=cancel_event,            # asyncio.Event; or cancel the task (see AgentRun)
        secrets=(...),                  # extra strings to scrub from events
    )

`Outcome` holds `exit_status` (an `ExitStatus`: submitted, cost_limit, step_limit, time_limit,
context_exceeded, api_error, format_error, cancelled), `summary`, `usage` (`Usage` totals),
`cost` (Decimal dollars), `steps`, `duration`, `result_type`, `changed_paths`, `error` and
`conversation`; `outcome.conversation_json()` is what to store for a follow-up, which passes it
back as `conversation=` with the new `prompt=`. `AgentRun(...)` is the same with a handle:
`AgentRun.outcome` is set even when the task running `run()` is cancelled.

Events (`AgentEvent`: `kind` from `domain.enums.EventKind`, JSON-safe `payload`, `seq`) are
described in `events.py`. They never carry API keys or tokens.

Estimate before a task starts: `estimate_task_cost(prompt, model, mode=...)` returns low,
expected and high dollar figures, flagged `estimated` when tiktoken's encodings are offline.

Modules: `providers/` (conversation model, provider contract and implementations), `tools.py`
(workspace tools; `paths.py` confinement; `file_tools.py`, `search.py`, `ignore.py` their work;
`runner.py` the plain `SubprocessRunner`), `loop.py` (the loop; `turn.py` one call, `retry.py`
backoff, `context.py` window management, `events.py`, `outcome.py`), `modes.py` (prompts and
tool sets), `tokens.py` (counts and cost).
"""

from __future__ import annotations

from asynccoder_tui.agent.context import ContextPolicy
from asynccoder_tui.agent.events import AgentEvent
from asynccoder_tui.agent.loop import AgentRun, run_agent
from asynccoder_tui.agent.modes import ModeSpec, build_system_prompt, mode_spec
from asynccoder_tui.agent.outcome import Budget, ExitStatus, Outcome
from asynccoder_tui.agent.providers import (
    Message,
    Provider,
    ScriptedProvider,
    ScriptedTurn,
    Usage,
    conversation_from_json,
    conversation_to_json,
    make_provider,
)
from asynccoder_tui.agent.retry import RetryPolicy
from asynccoder_tui.agent.runner import SubprocessRunner
from asynccoder_tui.agent.tokens import TaskCostEstimate, cost_of, count_tokens, estimate_task_cost
from asynccoder_tui.agent.tools import WorkspaceTools

__all__ = [
    "AgentEvent",
    "AgentRun",
    "Budget",
    "ContextPolicy",
    "ExitStatus",
    "Message",
    "ModeSpec",
    "Outcome",
    "Provider",
    "RetryPolicy",
    "ScriptedProvider",
    "ScriptedTurn",
    "SubprocessRunner",
    "TaskCostEstimate",
    "Usage",
    "WorkspaceTools",
    "build_system_prompt",
    "conversation_from_json",
    "conversation_to_json",
    "cost_of",
    "count_tokens",
    "estimate_task_cost",
    "make_provider",
    "mode_spec",
    "run_agent",
]
