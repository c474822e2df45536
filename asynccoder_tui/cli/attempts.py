"""CLI commands for best-of-N: `task attempts ID` (side by side) and `task pick ID`. It parses
and prints; the work is in `services.attempts`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _id, _json, opened
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings


def _score(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.2f}"


async def cmd_attempts(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import attempts

    async with opened(settings) as ctx:
        rows = await attempts.list_attempts(ctx, args.id)
    if args.json:
        _json([
            {"id": str(r.id), "title": r.title, "model": r.model, "status": r.status,
             "files_changed": r.files_changed, "lines_added": r.lines_added,
             "lines_removed": r.lines_removed, "cost": str(r.cost),
             "test_exit_code": r.test_exit_code, "discarded": r.discarded,
             "quality_score": None if r.quality_score is None else str(r.quality_score),
             "security_score": None if r.security_score is None else str(r.security_score)}
            for r in rows
        ])  # fmt: skip
        return 0
    for r in rows:
        tests = {None: "no tests", 0: "tests pass"}.get(r.test_exit_code, "tests fail")
        state = "discarded" if r.discarded else r.status
        print(f"{str(r.id)[:8]}  {inert(r.model):<20} {state:<10} {r.files_changed} files "
              f"+{r.lines_added} -{r.lines_removed}  {tests}  quality {_score(r.quality_score)} "
              f"security {_score(r.security_score)}  ${r.cost:.4f}")  # fmt: skip
    return 0


async def cmd_pick(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import attempts

    async with opened(settings) as ctx:
        discarded = await attempts.pick(ctx, args.id)
    print(f"picked {args.id}; discarded {len(discarded)} other attempt(s)")
    return 0


def register_attempt_commands(task: Any) -> None:
    p = task.add_parser("attempts", help="the sibling attempts of a best-of-N task, side by side")
    _id(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_attempts)
    p = task.add_parser("pick", help="keep this attempt; cancel and clean up its siblings")
    _id(p)
    p.set_defaults(handler=cmd_pick)
