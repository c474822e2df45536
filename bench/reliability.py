"""Reliability figures: the full rounds of `tests/reliability`, one line per area.

    python -m bench.reliability            # every area, full rounds (several minutes)
    python -m bench.reliability --quick    # the rounds the default test run uses
    python -m bench.reliability --only worker_kill,hostile_input

Areas: worker_kill (20 `kill -9` rounds), provider_faults (50 tasks, a fifth of the model's
turns failing), db_restart (PostgreSQL restarted three times under 10 running tasks),
disk_faults, github_faults, hostile_input (every table of `tests/reliability/hostile`),
secrets (a full run scanned for known fake secrets), sandbox_escape and terminal_escapes.
Each line counts rounds or cases and what went wrong, e.g.
`worker_kill: 20 rounds (...), 0 stuck, ..., 0 lost events, ledger balanced`. The exit status
is 1 when any area found a problem other than the known defects in code outside this suite's
reach (each of those is a strict xfail in the tests, with its reason).

It runs its own embedded PostgreSQL in a temporary folder, a fresh database per area, and a
home folder of its own (nothing of the user's is read or written). It needs root for the disk
faults (tmpfs and bind mounts; skipped and said otherwise) and bubblewrap for the sandbox area.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ["ASYNCCODER_TIKTOKEN_DOWNLOAD"] = "0"
for _name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN", "DATABASE_URL"):
    os.environ.pop(_name, None)

from tests.reliability.harness import drop_database, environment, fresh_database  # noqa: E402

Area = Callable[[str, Path, bool], Awaitable[tuple[str, bool]]]


async def worker_kill(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.worker_kill import PHASES, worker_kill_round

    report = await worker_kill_round(db, work, rounds=len(PHASES) if quick else 20, seed=21)
    return report.line(), not report.problems()


async def provider_faults(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.provider_faults import provider_fault_round

    report = await provider_fault_round(
        db, work, tasks=12 if quick else 50, seed=3 if quick else 11
    )
    return report.line(), not report.problems()


async def db_restart(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.db_restart import db_restart_round

    report = await db_restart_round(work, tasks=10, restarts=1 if quick else 3)
    return report.line() + " (the UI's banner is checked in pytest)", not report.problems()


async def disk_faults(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.disk_faults import KNOWN, disk_fault_round

    report = await disk_fault_round(db, work)
    return report.line(), not report.problems(leave_out=KNOWN)


async def github_faults(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.github_faults import github_fault_round

    report = await github_fault_round(db, work)
    return report.line(), not report.problems()


async def hostile_input(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.hostile import run_group
    from tests.reliability.hostile.branches import GROUP as branches
    from tests.reliability.hostile.cli import GROUP as cli
    from tests.reliability.hostile.config import GROUP as config
    from tests.reliability.hostile.contents import GROUP as contents
    from tests.reliability.hostile.github import GROUP as github
    from tests.reliability.hostile.prompts import GROUP as prompts
    from tests.reliability.hostile.providers import GROUP as providers
    from tests.reliability.hostile.repos import GROUP as repos
    from tests.reliability.hostile.tools import GROUP as tools

    groups: list[Any] = [repos, branches, prompts, tools, contents, config, cli, github, providers]
    cases = failures = known = crashes = hangs = 0
    broken: list[str] = []
    details: list[str] = []
    for group in groups:
        folder = work / group.name
        folder.mkdir()
        with environment(ASYNCCODER_HOME=str(folder / "home"),
                         ASYNCCODER_CONFIG=str(folder / "config.toml")):  # fmt: skip
            result = await run_group(group, db, folder)
        cases += result.cases
        failures += len(result.failures)
        known += len(result.known)
        crashes += sum("crashed" in f for f in result.failures)
        hangs += sum("hung" in f for f in result.failures)
        broken += result.consistent
        details += [f"    {group.name}: {f}" for f in result.failures]
    line = (
        f"hostile_input: {cases} cases in {len(groups)} groups, {failures} failed "
        f"({crashes} crashes, {hangs} hangs), {known} known defects in others' code, "
        f"database {'consistent' if not broken else 'INCONSISTENT'} after every group"
    )
    return "\n".join([line, *details]), not failures and not broken


async def secrets(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.secrets_scan import secrets_round

    report = await secrets_round(db, work)
    return report.line(), not report.leaks and not report.problems


async def sandbox_escape(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.harness import quick_settings
    from tests.reliability.sandbox_escape import sandbox_escape_round

    report = await sandbox_escape_round(quick_settings(db), work)
    return "\n".join([report.line(), *(f"    {p}" for p in report.problems)]), not report.problems


async def terminal_escapes(db: str, work: Path, quick: bool) -> tuple[str, bool]:
    from tests.reliability.terminal import terminal_round

    report = await terminal_round(db, work)
    return report.line() + " (the UI is checked in pytest)", not report.problems


AREAS: dict[str, Area] = {
    "worker_kill": worker_kill,
    "provider_faults": provider_faults,
    "db_restart": db_restart,
    "disk_faults": disk_faults,
    "github_faults": github_faults,
    "hostile_input": hostile_input,
    "secrets": secrets,
    "sandbox_escape": sandbox_escape,
    "terminal_escapes": terminal_escapes,
}


async def run(selected: list[str], quick: bool) -> bool:
    from asynccoder_tui.db.server import start_embedded

    scratch = Path(tempfile.mkdtemp(prefix="ac-bench-rel-"))
    logging.basicConfig(filename=scratch / "bench.log", level=logging.WARNING)
    server = await asyncio.to_thread(start_embedded, scratch / "pg")
    admin = server.url("postgres")
    healthy = True
    try:
        for name in selected:
            work = scratch / name
            work.mkdir()
            db = await fresh_database(admin)
            started = time.monotonic()
            try:
                with environment(ASYNCCODER_HOME=str(work / "home"),
                                 ASYNCCODER_CONFIG=str(work / "config.toml")):  # fmt: skip
                    line, ok = await AREAS[name](db, work, quick)
            except Exception as err:
                line, ok = f"{name}: the round itself failed: {type(err).__name__}: {err}", False
            finally:
                await drop_database(admin, db)
            healthy = healthy and ok
            print(f"{line}  [{time.monotonic() - started:.0f} s]", flush=True)
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(scratch, ignore_errors=True)
    return healthy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the rounds of the default tests")
    parser.add_argument("--only", help="comma-separated areas: " + ", ".join(AREAS))
    args = parser.parse_args()
    selected = [a.strip() for a in args.only.split(",")] if args.only else list(AREAS)
    unknown = [a for a in selected if a not in AREAS]
    if unknown:
        parser.error(f"unknown areas: {', '.join(unknown)}")
    return 0 if asyncio.run(run(selected, args.quick)) else 1


if __name__ == "__main__":
    sys.exit(main())
