"""CLI commands for the catalogue of models and agents: `model list|set-price|enable|disable|add`
and `agent list|set`. They parse and print; validation and auditing are in `services.models` and
`services.agents`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _json, opened
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Agent, AIModel


def _model_line(m: AIModel) -> str:
    state = "enabled" if m.active else "disabled"
    return (
        f"{inert(m.name)}: in ${m.input_price:f}/M  out ${m.output_price:f}/M  "
        f"cache read ${m.cache_read_price:f}/M  cache write ${m.cache_write_price:f}/M  {state}"
    )


async def cmd_model_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import models

    async with opened(settings) as ctx:
        found = await models.list_models(ctx, active_only=not args.all)
    if args.json:
        _json([m.model_dump(mode="json") for m in found])
        return 0
    for m in found:
        print(f"{inert(m.name):<22} {m.provider.value:<18} in ${m.input_price}/M  out ${m.output_price}/M  "
              f"cache read ${m.cache_read_price}/M  {m.context_window:,} ctx"
              f"{'' if m.active else '  disabled'}")  # fmt: skip
    return 0


async def cmd_model_set_price(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import models

    async with opened(settings) as ctx:
        model = await models.set_price(
            ctx, args.name, input_price=args.input, output_price=args.output,
            cache_read_price=args.cache_read, cache_write_price=args.cache_write,
        )  # fmt: skip
    print(_model_line(model))
    return 0


async def cmd_model_enable(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import models

    async with opened(settings) as ctx:
        model = await models.set_enabled(ctx, args.name, args.model_command == "enable")
    print(_model_line(model))
    return 0


async def cmd_model_add(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import models

    new = models.NewModel(
        provider=args.provider, name=args.name, input_price=args.input, output_price=args.output,
        cache_read_price=args.cache_read, cache_write_price=args.cache_write,
        display_name=args.display_name or "", base_url=args.base_url,
        context_window=args.context_window, max_output=args.max_output,
    )  # fmt: skip
    async with opened(settings) as ctx:
        model = await models.add_model(ctx, new)
    print(f"added {_model_line(model)}")
    return 0


def _agent_dict(a: Agent) -> dict[str, Any]:
    return a.model_dump(mode="json", exclude={"current_load"})


async def cmd_agent_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import agents

    async with opened(settings) as ctx:
        found = await agents.list_agents(ctx)
    if args.json:
        _json([_agent_dict(a) for a in found])
        return 0
    for a in found:
        tools = ",".join(a.allowed_tools) if a.allowed_tools is not None else "all of the mode's"
        model = inert(a.default_model or "the task's")[:24]
        print(f"{a.kind.value:<18} {inert(a.name)[:24]:<24} {'enabled ' if a.active else 'disabled'} "
              f"model {model:<24} tools {inert(tools)}")  # fmt: skip
    return 0


def _read_prompt(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the prompt file {path!r}: {err}") from None


async def cmd_agent_set(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import agents

    prompt = _read_prompt(args.prompt_file) if args.prompt_file else None
    tools = None
    if args.tools is not None:
        tools = [] if args.tools.strip().lower() == "all" else args.tools.split(",")
    if tools == []:
        from asynccoder_tui.services.agents import CHOOSABLE_TOOLS

        tools = list(CHOOSABLE_TOOLS)  # every tool: stored as "the mode's"
    if prompt is None and args.model is None and tools is None and args.enabled is None:
        raise InputError("nothing to change", hint="--model, --tools, --prompt-file, --enable")
    async with opened(settings) as ctx:
        agent = await agents.change_agent(
            ctx, args.role, system_prompt=prompt, default_model=args.model,
            allowed_tools=tools, active=args.enabled,
        )  # fmt: skip
    if args.json:
        _json(_agent_dict(agent))
    else:
        print(f"saved {inert(agent.name)} ({agent.kind.value}); it applies to the next run")
    return 0


def register_model_commands(sub: Any) -> None:
    model = sub.add_parser("model", help="models and prices")
    m = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    p = m.add_parser("list", help="list models with their prices per million tokens")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="disabled models too")
    p.set_defaults(handler=cmd_model_list)
    register_model_actions(m)


def register_model_actions(m: Any) -> None:
    """`model set-price|enable|disable|add`, beside `model list`."""
    p = m.add_parser("set-price", help="change a model's prices (US$ per million tokens)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--input", help="input price")
    p.add_argument("--output", help="output price")
    p.add_argument("--cache-read", help="cache read price")
    p.add_argument("--cache-write", help="cache write price")
    p.set_defaults(handler=cmd_model_set_price)
    for verb in ("enable", "disable"):
        p = m.add_parser(verb, help=f"{verb} a model for new tasks")
        p.add_argument("name", metavar="NAME")
        p.set_defaults(handler=cmd_model_enable)
    p = m.add_parser("add", help="add a model (a local one needs --base-url)")
    p.add_argument("name", metavar="NAME", help="the provider's model id")
    p.add_argument(
        "--provider", required=True, help="anthropic, openai or openai-compatible (local servers)"
    )
    p.add_argument("--input", required=True, help="input price")
    p.add_argument("--output", required=True, help="output price")
    p.add_argument("--cache-read", default="0", help="cache read price (default 0)")
    p.add_argument("--cache-write", default="0", help="cache write price (default 0)")
    p.add_argument("--base-url", help="the server's address, e.g. http://localhost:11434/v1")
    p.add_argument("--display-name", help="the name shown in lists (default: NAME)")
    p.add_argument("--context-window", default="128000", help="tokens (default 128000)")
    p.add_argument("--max-output", default="8192", help="tokens (default 8192)")
    p.set_defaults(handler=cmd_model_add)


def register_agent_commands(sub: Any) -> None:
    agent = sub.add_parser("agent", help="agent roles: system prompt, default model, tools")
    a = agent.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    p = a.add_parser("list", help="list the agents")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_agent_list)
    p = a.add_parser("set", help="change an agent; it applies to the next run")
    p.add_argument("role", metavar="ROLE", help="a role (coder) or an agent's name")
    p.add_argument("--model", help="default model (an enabled one; '' clears it)")
    p.add_argument("--tools", help="comma-separated tools, or 'all' for every tool of the mode")
    p.add_argument("--prompt-file", help="a file holding the new system prompt")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_agent_set, enabled=None)
