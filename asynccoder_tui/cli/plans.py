"""CLI commands for plans: `task plan show|edit|approve ID`. It parses and prints; the work is
in `services.plans`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _id, _json, opened
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.services.plans import PlanView

PLAN_FILE_MAX_BYTES = 1_000_000


def read_plan_file(name: str) -> Any:
    """The JSON of a plan file (a regular file of at most 1 MB)."""
    path = Path(name)
    if not path.is_file() or path.stat().st_size > PLAN_FILE_MAX_BYTES:
        raise InputError(f"{name} is not a plan file of at most 1 MB")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(f"{name} is not JSON: {err}") from err


def print_plan(view: PlanView) -> None:
    print(f"plan {view.status}: {view.progress}")
    if view.problem:
        print(f"  stopped: {inert(str(view.problem.get('message')))}")
    by_step = {c.position: c for c in view.children}
    for step, sub in enumerate(view.subtasks, 1):
        child = by_step.get(step - 1)
        state = "proposed"
        if child is not None:
            mark = ", skipped" if child.skipped else ", merged" if child.merged else ""
            state = f"{child.status}{mark}"
        deps = f" after {', '.join(map(str, sub['depends_on']))}" if sub["depends_on"] else ""
        print(f"  {step}. [{sub['role']}] {inert(sub['title'])}{deps} ({state})")
        print(f"     {inert(sub['prompt'][:200])}")


async def cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import plans

    async with opened(settings) as ctx:
        if args.plan_command == "approve":
            children = await plans.approve_plan(ctx, args.id)
            print(f"approved: {len(children)} subtasks queued")
            view = await plans.show_plan(ctx, args.id)
        elif args.plan_command == "edit":
            subtasks = read_plan_file(args.file)
            view = await plans.edit_plan(ctx, args.id, subtasks)
        else:
            view = await plans.show_plan(ctx, args.id)
    if args.json:
        _json(view.as_dict())
    else:
        print_plan(view)
    return 0


def register_plan_commands(task: Any) -> None:
    """Add `plan show|edit|approve` to the `task` command group."""
    plan = task.add_parser("plan", help="show, edit or approve a planner's subtasks")
    actions = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)
    for name, text in (
        ("show", "the proposed subtasks and the progress of their children"),
        ("edit", "replace the proposed subtasks with a JSON file's"),
        ("approve", "queue the subtasks as children, in dependency order"),
    ):
        p = actions.add_parser(name, help=text)
        _id(p)
        if name == "edit":
            p.add_argument("file", help='JSON: {"subtasks": [{"title", "prompt", "role", '
                           '"depends_on"}]}')  # fmt: skip
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=cmd_plan)
