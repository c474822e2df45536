"""CLI commands for reviews: `task review ID [--send-back]` and `repo review REPO off|on|required`.

It parses and prints; the work is in `services.reviews`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _id, _json, opened
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Review


def _score(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.2f}"


def print_review(review: Review) -> None:
    print(
        f"{review.status.replace('_', ' ')}  quality {_score(review.quality_score)}  "
        f"security {_score(review.security_score)}  commit {(review.commit_sha or '-')[:10]}  "
        f"by {inert(review.reviewer)}"
    )
    if review.summary:
        print(f"  {inert(review.summary)}")
    for title, findings in (("issue", review.issues), ("suggestion", review.suggestions)):
        for f in findings:
            where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "-")
            severity = f" [{f.severity}]" if f.severity else ""
            print(f"  {title}{severity} {inert(where)}: {inert(f.message)}")


async def cmd_task_review(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import reviews

    async with opened(settings) as ctx:
        if args.send_back:
            task = await reviews.send_back(ctx, args.id)
            print(
                f"sent the requested changes back; task {str(task.id)[:8]} is {task.status.value}"
            )
            return 0
        found = await reviews.list_reviews(ctx, args.id)
        runs = await reviews.review_tasks(ctx, args.id)
    if args.json:
        _json({
            "reviews": [r.model_dump(mode="json") for r in found],
            "review_tasks": [{"id": str(i), "status": s} for i, s in runs],
        })  # fmt: skip
        return 0
    if not found:
        pending = [s for _, s in runs if s in ("queued", "running")]
        print("review in progress" if pending else "no review yet")
        return 0
    for review in found:
        print_review(review)
    return 0


async def cmd_repo_review(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import reviews

    async with opened(settings) as ctx:
        repo = await reviews.set_review_mode(ctx, args.ref, args.mode, model=args.model)
    model = repo.settings.get("review_model") or "the reviewer agent's default"
    print(f"review {args.mode} for {inert(repo.display_name)} (model: {inert(str(model))})")
    return 0


def register_review_commands(task: Any, repo: Any) -> None:
    """Add `review` to the `task` and `repo` command groups (their subparser actions)."""
    p = task.add_parser("review", help="the reviewer's verdicts; --send-back returns changes")
    _id(p)
    p.add_argument(
        "--send-back", action="store_true", help="send the requested changes to the coder"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_task_review)

    p = repo.add_parser("review", help="automatic review of commits: off, on or required")
    p.add_argument("ref", metavar="REPO")
    p.add_argument("mode", choices=["off", "on", "required"])
    p.add_argument("--model", help="the reviewer's model (default: the reviewer agent's)")
    p.set_defaults(handler=cmd_repo_review)
