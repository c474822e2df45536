"""CLI commands for a repository's settings: `repo show REPO` and `repo set REPO ...`.

It parses and prints; validation and saving are in `services.repos`. A refused value prints
`error: ...` (and a `hint:`) and exits 2; `--json` prints the same as JSON on standard output.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _json, opened
from asynccoder_tui.domain.errors import InputError, NotFoundError
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Repository
    from asynccoder_tui.services.repos import EffectiveRepoSettings

EXIT_REFUSED = 2
NETWORK_CHOICES = {"on": True, "off": False, "default": None}


def _refused(err: InputError | NotFoundError, *, as_json: bool) -> int:
    if as_json:
        _json({"error": err.message, "hint": err.hint})
    print(f"error: {inert(err.message)}", file=sys.stderr)
    if err.hint:
        print(f"hint: {inert(err.hint)}", file=sys.stderr)
    return EXIT_REFUSED


def repo_dict(repo: Repository, settings: EffectiveRepoSettings) -> dict[str, Any]:
    return {
        "id": str(repo.id), "name": repo.display_name, "kind": repo.kind.value,
        "local_path": repo.local_path, "full_name": repo.full_name,
        "default_branch": repo.default_branch, "status": repo.status.value,
        "settings": settings.as_dict(),
    }  # fmt: skip


def _shown(value: str | None, empty: str = "(none)") -> str:
    return inert(value) if value else empty


def print_settings(repo: Repository, s: EffectiveRepoSettings) -> None:
    where = repo.local_path or repo.full_name or "-"
    print(f"{inert(repo.display_name)}  ({repo.kind.value}, {repo.status.value})")
    print(f"  id              {repo.id}")
    print(f"  where           {inert(where)}")
    print(f"  default branch  {inert(repo.default_branch)}")
    print(f"  test command    {_shown(s.test_command)}")
    print(f"  setup command   {_shown(s.setup_command)}")
    print(f"  review          {s.review}")
    model = _shown(s.review_model, "(the reviewer agent's default)")
    print(f"  review model    {model}")
    network = "on" if s.network_effective else "off"
    if s.network is None:
        network += " (the global sandbox_network setting)"
    print(f"  network         {network}")
    files = ", ".join(inert(f) for f in s.copy_files)
    print(f"  copy files      {files or '(none)'}")
    print(f"  github          {_shown(s.github, '(its remote, when that is on GitHub)')}")


async def cmd_repo_show(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        try:
            repo = await repos.find(ctx, args.ref)
            found = await repos.repo_settings(ctx, repo.id)
        except (InputError, NotFoundError) as err:
            return _refused(err, as_json=args.json)
    if args.json:
        _json(repo_dict(repo, found))
    else:
        print_settings(repo, found)
    return 0


def _changes(args: argparse.Namespace, current: EffectiveRepoSettings) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in ("test_command", "setup_command", "review", "review_model", "github"):
        value = getattr(args, key)
        if value is not None:
            changes[key] = value
    if args.network is not None:
        changes["network"] = NETWORK_CHOICES[args.network]
    if args.clear_copy_files or args.copy_file:
        kept = [] if args.clear_copy_files else list(current.copy_files)
        changes["copy_files"] = kept + list(args.copy_file or [])
    return changes


async def cmd_repo_set(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        try:
            repo = await repos.find(ctx, args.ref)
            before = await repos.repo_settings(ctx, repo.id)
            changes = _changes(args, before)
            if not changes:
                raise InputError(
                    "nothing to change",
                    hint="give --test-command, --setup-command, --review, --review-model, "
                    "--network, --copy-file, --clear-copy-files or --github",
                )
            after = await repos.update_repo_settings(ctx, repo.id, **changes)
        except (InputError, NotFoundError) as err:
            return _refused(err, as_json=args.json)
    old, new = before.as_dict(), after.as_dict()
    changed = sorted(k for k in new if old[k] != new[k] and k != "network_effective")
    if args.json:
        data = repo_dict(repo, after)
        data["changed"] = changed
        _json(data)
        return 0
    if changed:
        print(f"saved for {inert(repo.display_name)}: {', '.join(changed)}")
    else:
        print(f"nothing changed for {inert(repo.display_name)}")
    return 0


def register_repo_settings_commands(repo: Any) -> None:
    """Add `show` and `set` to the `repo` command group (its subparser action)."""
    p = repo.add_parser("show", help="a repository and its settings")
    p.add_argument("ref", metavar="REPO", help="path, owner/name, name or id")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_repo_show)

    p = repo.add_parser(
        "set", help="change a repository's settings (test and setup commands, review, network)"
    )
    p.add_argument("ref", metavar="REPO", help="path, owner/name, name or id")
    p.add_argument(
        "--test-command", metavar="CMD",
        help="run in the sandbox after each coding run (best-of-N shows it); '' clears it",
    )  # fmt: skip
    p.add_argument(
        "--setup-command", metavar="CMD",
        help="run in each new workspace before the agent starts; '' clears it",
    )  # fmt: skip
    p.add_argument("--review", choices=["off", "on", "required"], help="automatic review")
    p.add_argument(
        "--review-model", metavar="M", help="the reviewer's model; '' for the agent's default"
    )
    p.add_argument(
        "--network", choices=list(NETWORK_CHOICES),
        help="network for sandboxed commands (default: the global sandbox_network setting)",
    )  # fmt: skip
    p.add_argument(
        "--copy-file", metavar="PATH", action="append",
        help="a file (relative to the repository) copied into each workspace; repeat for more",
    )  # fmt: skip
    p.add_argument("--clear-copy-files", action="store_true", help="forget the copy files first")
    p.add_argument(
        "--github", metavar="OWNER/NAME",
        help="where pull requests of a local repository go when its remote is not on GitHub; "
        "'' clears it",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_repo_set)
