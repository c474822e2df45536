"""The `asynccoder` command: argument parsing and plain or JSON printing.

With no subcommand it starts the terminal UI. Every subcommand calls `services/` only. Errors
print one line (`error: ...`) on stderr and exit non-zero; `--debug` adds the traceback.
Everything printed that may hold text from outside (paths, names, messages quoting them) goes
through `domain.text.inert`, so a hostile folder or branch name cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from asynccoder_tui import __version__
from asynccoder_tui.domain.errors import AsyncCoderError
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings

log = logging.getLogger("asynccoder.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 70

Handler = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]


def _print_json(data: Any) -> None:
    print_json(data)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def print_json(data: Any) -> None:
    """JSON with non-ASCII text kept readable, except the characters a terminal would act on
    (DEL, the 8-bit C1 controls such as CSI, bidi overrides): those are `\\uXXXX`-escaped,
    which is the same JSON. (`json` already escapes the 7-bit controls.)"""
    print(json_safe(json.dumps(data, indent=2, default=str, ensure_ascii=False)))


def json_safe(text: str) -> str:
    """JSON text with DEL, C1 controls and bidi overrides `\\uXXXX`-escaped."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# db ---------------------------------------------------------------------------------------------


async def cmd_db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import database

    applied = await database.migrate(settings)
    for mig in applied:
        print(f"applied {mig.version:04d}_{mig.name}")
    if not applied:
        print("database is up to date")
    return 0


async def cmd_db_status(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import database

    url, embedded, status = await database.status(settings)
    if args.json:
        _print_json(
            {
                "url": url,
                "embedded": embedded,
                "server_version": status.server_version,
                "applied": [
                    {"version": m.version, "name": m.name, "applied_at": m.applied_at}
                    for m in status.applied
                ],
                "pending": status.pending,
                "row_counts": status.row_counts,
                "pgvector": status.pgvector,
            }
        )
        return 0
    print(f"database   {url} ({'embedded' if embedded else 'DATABASE_URL'})")
    print(f"server     PostgreSQL {status.server_version}")
    print("migrations")
    for m in status.applied:
        print(f"  {m.version:04d}_{m.name:<24} applied {m.applied_at:%Y-%m-%d %H:%M:%S}")
    for name in status.pending:
        print(f"  {name:<29} pending")
    print("rows")
    for table, count in status.row_counts.items():
        print(f"  {table:<24} {count:>10}")
    return 0


async def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import database

    print(await database.display_url(settings))
    return 0


async def cmd_db_stop(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import database

    stopped = await database.stop_embedded(settings, force=args.force)
    print("the embedded database stopped" if stopped else "the embedded database is not running")
    return 0


# doctor -----------------------------------------------------------------------------------------


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services.doctor import run_checks

    checks = await run_checks(settings)
    healthy = all(c.status != "fail" for c in checks)
    if args.json:
        _print_json({"healthy": healthy, "checks": [c.as_dict() for c in checks]})
    else:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for c in checks:
            print(f"[{marks[c.status]}] {c.name:<18} {inert(c.detail)}")
            if c.hint and c.status != "ok":
                print(f"       {'':<18} -> {inert(c.hint)}")
        print("healthy" if healthy else "problems found")
    return 0 if healthy else EXIT_ERROR


# the terminal UI --------------------------------------------------------------------------------


def run_tui(load: Callable[[], Settings]) -> int:
    """Start the UI; settings are read by `load` after its first frame (pydantic is slow to
    import), and a settings error shows in the UI."""
    from asynccoder_tui.tui.app import AsyncCoderApp

    app = AsyncCoderApp(load)
    app.run()
    return int(app.return_code or 0)


# parsing ----------------------------------------------------------------------------------------


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The `asynccoder` parser; without `commands`, only the global options (enough to start
    the UI, and far quicker to build than the subcommands' parsers)."""
    parser = argparse.ArgumentParser(
        prog="asynccoder",
        description="Hand coding tasks to AI agents, watch them work, review their diffs and "
        "open pull requests. With no command, starts the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"asynccoder {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--config", metavar="PATH", help="config file (default: XDG config dir)")
    parser.add_argument(
        "--database-url", metavar="URL", help="PostgreSQL URL (default: the embedded server)"
    )
    if not commands:
        parser.set_defaults(command=None)
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    db = sub.add_parser("db", help="database: migrate, status, url, stop")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = db_sub.add_parser("migrate", help="apply pending migrations")
    p.set_defaults(handler=cmd_db_migrate)
    p = db_sub.add_parser("status", help="applied migrations and table row counts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_db_status)
    p = db_sub.add_parser("url", help="print the connection URL (password hidden)")
    p.set_defaults(handler=cmd_db_url)
    p = db_sub.add_parser("stop", help="stop the embedded PostgreSQL server")
    p.add_argument(
        "--force",
        action="store_true",
        help="stop it even while in use (the processes using it start it again)",
    )
    p.set_defaults(handler=cmd_db_stop)

    p = sub.add_parser("doctor", help="check the database, git, keys, sandbox and tokenizer")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_doctor)

    # The command modules, imported only now: the UI starts without them.
    from asynccoder_tui.cli.attempts import register_attempt_commands
    from asynccoder_tui.cli.catalog import register_agent_commands, register_model_commands
    from asynccoder_tui.cli.plans import register_plan_commands
    from asynccoder_tui.cli.repo_settings import register_repo_settings_commands
    from asynccoder_tui.cli.repos import register_repo_commands
    from asynccoder_tui.cli.reviews import register_review_commands
    from asynccoder_tui.cli.tasks import register_task_commands
    from asynccoder_tui.cli.usage import register_usage_command
    from asynccoder_tui.cli.worker import register_worker_command

    task = register_task_commands(sub)
    repo = register_repo_commands(sub)
    register_review_commands(task, repo)
    register_repo_settings_commands(repo)
    register_plan_commands(task)
    register_attempt_commands(task)
    register_usage_command(sub)
    register_model_commands(sub)
    register_agent_commands(sub)
    register_worker_command(sub)
    return parser


def _not_utf8(args: argparse.Namespace) -> str | None:
    """The name of an argument that held bytes that are not UTF-8 (Python keeps them as lone
    surrogates, which no database or terminal accepts), or None."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return name
    return None


def say(text: str) -> str:
    """`text` safe to print: secrets redacted, terminal escapes removed."""
    from asynccoder_tui.logs import redact  # not at the top: the UI's start does without it

    return inert(redact(text))


def _settings(args: argparse.Namespace, *, quiet: bool = False) -> Settings:
    """Settings from every source, with logging set up from them."""
    from asynccoder_tui.config import load_settings
    from asynccoder_tui.logs import setup_logging

    settings = load_settings(database_url=args.database_url)
    logging_off = setup_logging(settings.paths.log_file, settings.log_level)
    if logging_off and not quiet:
        print(f"warning: {logging_off}; logging is off", file=sys.stderr)
    elif logging_off:
        log.warning("logging is off: %s", logging_off)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # No arguments, the usual way to start the UI: the subcommands' parsers are not needed.
    parser = build_parser(commands=bool(argv))
    args = parser.parse_args(argv)
    bad = _not_utf8(args)
    if bad is not None:
        print(f"error: the argument {bad} is not valid UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    debug = bool(args.debug)
    try:
        if args.config:
            os.environ["ASYNCCODER_CONFIG"] = args.config
        if args.command is None:
            return run_tui(lambda: _settings(args, quiet=True))
        settings = _settings(args)
        handler: Handler = args.handler
        return asyncio.run(handler(args, settings))
    except AsyncCoderError as err:
        if debug:
            traceback.print_exc()
        print(f"error: {say(err.message)}", file=sys.stderr)
        if err.hint:
            print(f"hint: {say(err.hint)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`asynccoder ... | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as err:
        log.exception("unexpected error")
        if debug:
            traceback.print_exc()
        print(
            f"error: unexpected {type(err).__name__}: {say(str(err))} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
