"""`asynccoder doctor`: checks of everything Async Coder needs, each with a verdict and advice.

Checks name secrets only by their variable name; no value is ever read into a result.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Literal

from asynccoder_tui.config import Settings
from asynccoder_tui.domain.errors import AsyncCoderError

Verdict = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Verdict
    detail: str
    hint: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


async def check_database(settings: Settings) -> list[Check]:
    from asynccoder_tui.db.migrate import load_migrations
    from asynccoder_tui.db.pool import open_database
    from asynccoder_tui.db.status import database_status

    kind = "embedded" if settings.uses_embedded_db else "DATABASE_URL"
    try:
        db = await open_database(settings, max_size=2)
    except AsyncCoderError as err:
        return [Check("database", "fail", str(err.message), err.hint)]
    try:
        status = await database_status(db.pool)
        checks = [
            Check(
                "database",
                "ok",
                f"PostgreSQL {status.server_version} ({kind}) at {db.display_url}",
            ),
            Check(
                "migrations",
                "ok" if not status.pending else "fail",
                f"{len(status.applied)} of {len(load_migrations())} applied"
                + (f"; pending: {', '.join(status.pending)}" if status.pending else ""),
                None if not status.pending else "run `asynccoder db migrate`",
            ),
            Check(
                "pgvector",
                "ok" if status.pgvector else "warn",
                "available" if status.pgvector else "not installed: code search uses text only",
            ),
        ]
        checks.append(await _check_listen(db.url))
        return checks
    finally:
        await db.close()


async def _check_listen(url: str) -> Check:
    """LISTEN/NOTIFY must round-trip: a transaction-mode pooler silently breaks it."""
    from asynccoder_tui.db.status import notify_roundtrip

    if await notify_roundtrip(url, timeout=3):
        return Check("listen_notify", "ok", "notifications arrive")
    return Check(
        "listen_notify",
        "fail",
        "a NOTIFY did not arrive at a LISTEN connection within 3 s",
        "live updates need a direct or session-pooled connection, not a "
        "transaction-mode pooler (PgBouncer pool_mode=transaction)",
    )


def check_git() -> Check:
    git = shutil.which("git")
    if git is None:
        return Check("git", "fail", "git is not installed", "install git 2.25 or newer")
    out = subprocess.run([git, "--version"], capture_output=True, text=True, check=False).stdout
    version = out.strip().removeprefix("git version ").split()[0] if out.strip() else "?"
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    if len(parts) == 2 and tuple(parts) < (2, 25):
        return Check("git", "fail", f"git {version} is too old", "install git 2.25 or newer")
    return Check("git", "ok", f"git {version}")


def check_secrets(settings: Settings) -> list[Check]:
    checks = []
    for name, present in settings.secret_names_present().items():
        if name == "GITHUB_TOKEN" and not present:
            gh = shutil.which("gh") if settings.use_gh_cli_token else None
            checks.append(
                Check(
                    name,
                    "warn",
                    "not set"
                    + ("; the gh CLI is installed and its token will be tried" if gh else ""),
                    "set GITHUB_TOKEN, run `gh auth login`, or paste a token in settings; "
                    "local repositories work without it",
                )
            )
            continue
        checks.append(
            Check(
                name,
                "ok" if present else "warn",
                "set" if present else "not set",
                None
                if present
                else f"set {name} to use these models (the scripted demo needs none)",
            )
        )
    return checks


async def check_sandbox(settings: Settings) -> Check:
    """The same probe the runners use, so doctor says exactly what agent commands will get."""
    from asynccoder_tui.vcs.sandbox import sandbox_status

    status = await sandbox_status(settings.sandbox)
    if status.available:
        return Check("sandbox", "ok", status.reason)
    hint = (
        "install bubblewrap (apt-get install bubblewrap) and allow unprivileged user namespaces"
        if settings.sandbox != "none"
        else "set sandbox = auto to isolate agent commands"
    )
    verdict: Verdict = "fail" if settings.sandbox == "bwrap" else "warn"
    return Check("sandbox", verdict, f"off: {status.reason}", hint)


def check_tiktoken() -> Check:
    """Whether token counting can use real encodings without the network (tiktoken's cache)."""
    from asynccoder_tui.agent.tokens import BYTES_PER_TOKEN, encoding_cached

    have = [name for name in ("o200k_base", "cl100k_base") if encoding_cached(name)]
    if have:
        return Check("tiktoken", "ok", f"encodings available offline: {', '.join(have)}")
    return Check(
        "tiktoken",
        "warn",
        "no tiktoken encoding is cached: token counts are estimated "
        f"(one token per {BYTES_PER_TOKEN} bytes, on the high side)",
        "run once with network access, or set TIKTOKEN_CACHE_DIR to a folder holding the files",
    )


async def run_checks(settings: Settings) -> list[Check]:
    checks = [
        Check(
            "config",
            "ok",
            f"config file {settings.config_file}"
            + ("" if settings.config_file.is_file() else " (not present: defaults in use)"),
        )
    ]
    checks += await check_database(settings)
    checks.append(await asyncio.to_thread(check_git))
    checks += check_secrets(settings)
    checks.append(await check_sandbox(settings))
    checks.append(check_tiktoken())
    return checks
