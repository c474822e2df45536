"""`asynccoder doctor`: checks of everything Async Coder needs, each with a verdict and advice.

Checks name secrets only by their variable name; no value is ever read into a result.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
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


def check_sandbox(settings: Settings) -> Check:
    if settings.sandbox == "none":
        return Check(
            "sandbox", "warn", "off by setting (sandbox = none)", "commands run unsandboxed"
        )
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check(
            "sandbox",
            "warn" if settings.sandbox == "auto" else "fail",
            "bubblewrap (bwrap) is not installed: agent commands run without a sandbox",
            "install bubblewrap (apt-get install bubblewrap)",
        )
    probe = subprocess.run(
        [
            bwrap,
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-net",
            "--die-with-parent",
            "true",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    if probe.returncode != 0:
        return Check(
            "sandbox",
            "warn" if settings.sandbox == "auto" else "fail",
            f"bwrap is installed but cannot create a sandbox: {probe.stderr.strip()[:200]}",
            "allow unprivileged user namespaces (kernel.unprivileged_userns_clone=1)",
        )
    return Check("sandbox", "ok", f"bubblewrap at {bwrap}")


_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


def tiktoken_cache_dir() -> Path:
    explicit = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    return Path(explicit) if explicit else Path(tempfile.gettempdir()) / "data-gym-cache"


def check_tiktoken() -> Check:
    """Whether token counting can use real encodings without the network (tiktoken's cache)."""
    cache = tiktoken_cache_dir()
    have = [
        name
        for name, url in _ENCODING_URLS.items()
        if (cache / hashlib.sha1(url.encode()).hexdigest()).is_file()
    ]
    if have:
        return Check("tiktoken", "ok", f"encodings available offline: {', '.join(have)}")
    return Check(
        "tiktoken",
        "warn",
        f"no tiktoken encoding in {cache}: token counts are estimated (about 4 characters a token)",
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
    checks.append(await asyncio.to_thread(check_sandbox, settings))
    checks.append(check_tiktoken())
    return checks
