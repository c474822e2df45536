"""CLI commands for repositories: `repo add|list|sync|archive`. They parse and print; the work is
in `services.repos`. Text that came from a repository is printed inert.

The `repo` group's other actions (review, show, set) live in their own modules and are added to
the group that `register_repo_commands` returns.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _json, opened
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings


async def cmd_repo_add(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        repo = await repos.add_repo(ctx, args.ref)
    print(f"added {inert(repo.display_name)} (default branch {inert(repo.default_branch)})")
    return 0


async def cmd_repo_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        rows = await repos.list_repos(ctx, include_archived=args.all)
    if args.json:
        _json([{**r.repository.model_dump(mode="json"), "open_tasks": r.open_tasks} for r in rows])
    elif not rows:
        print("no repositories: add one with `asynccoder repo add PATH` or `owner/name`")
    for row in [] if args.json else rows:
        repo = row.repository
        where = inert(repo.local_path or repo.full_name or "")
        status = "" if repo.status.value == "active" else f" [{repo.status.value}]"
        print(f"{inert(repo.display_name):<30} {repo.kind.value:<6} {inert(repo.default_branch):<12} "
              f"{row.open_tasks:>3} open  {where}{status}")  # fmt: skip
    return 0


async def cmd_repo_sync(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        result = await repos.sync_github(
            ctx, progress=lambda done, total: print(f"\r{done}/{total}", end="", file=sys.stderr)
        )
    print(f"\nsynced {result.seen} repositories from GitHub")
    return 0


async def cmd_repo_archive(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        repo = await repos.find(ctx, args.ref)
        await (repos.restore if args.restore else repos.archive)(ctx, repo.id)
    print(f"{inert(repo.display_name)} {'restored' if args.restore else 'archived'}")
    return 0


def register_repo_commands(sub: Any) -> Any:
    """The `repo` group with its own actions; returns its subparsers for the other modules."""
    repo = sub.add_parser("repo", help="add, list, sync, archive, show and set repositories")
    r = repo.add_subparsers(dest="repo_command", metavar="ACTION", required=True)
    p = r.add_parser("add", help="add a local checkout (PATH) or a GitHub repository (owner/name)")
    p.add_argument("ref", metavar="PATH|URL")
    p.set_defaults(handler=cmd_repo_add)
    p = r.add_parser("list", help="list repositories")
    p.add_argument("--all", action="store_true", help="include archived ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_repo_list)
    p = r.add_parser("sync", help="refresh the repositories you can reach on GitHub")
    p.set_defaults(handler=cmd_repo_sync)
    p = r.add_parser("archive", help="archive a repository (soft delete; --restore undoes)")
    p.add_argument("ref", metavar="REPO")
    p.add_argument("--restore", action="store_true", help="bring an archived repository back")
    p.set_defaults(handler=cmd_repo_archive)
    return r
