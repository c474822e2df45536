"""CLI command `usage`: the credit balance, the ledger's totals, and usage and outcomes by model
and agent. It parses and prints; the figures come from `services.usage`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _json, opened
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings


async def cmd_usage(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import usage

    async with opened(settings) as ctx:
        report = await usage.report(ctx)
    if args.json:
        _json(report.as_dict())
        return 0
    rate = report.credits_per_usd
    print(f"balance      {report.balance} credits (${report.balance / rate:.2f})")
    print(f"this month   {report.month_tokens:,} tokens, ${report.month_cost:.4f}")
    print("ledger       " + ", ".join(f"{k} {v}" for k, v in sorted(report.ledger_totals.items())))
    print(
        "tasks        "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "none")
    )
    if report.by_model:
        print("by model")
        for m in report.by_model:
            print(
                f"  {inert(m.model):<24} {m.calls:>5} calls {m.input_tokens + m.output_tokens:>12,} tokens ${m.cost:.4f}"
            )
    for title, stats in (
        ("runs by agent", report.by_agent),
        ("runs by model", report.by_agent_model),
    ):
        if stats:
            print(title)
        for s in stats:
            print(f"  {inert(s.key):<24} {s.runs:>5} runs {s.success_rate:>6.0%} ok  mean ${s.mean_cost:.4f} "
                  f"{s.mean_seconds:.1f} s  {s.files_changed} files +{s.lines_added} -{s.lines_removed}")  # fmt: skip
    return 0


def register_usage_command(sub: Any) -> None:
    p = sub.add_parser("usage", help="balance, ledger and usage by model")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_usage)
