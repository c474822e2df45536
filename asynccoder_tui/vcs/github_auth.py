"""Where the GitHub token comes from: settings, then `GITHUB_TOKEN`, then `gh auth token`.

`find_github_token` returns the token wrapped in a `SecretStr` with the name of its source
(shown by `doctor` and settings; the value never is). The `gh` CLI is asked only when it is
installed, without prompts and with a timeout, for the host of the configured API URL (so a
GitHub Enterprise token is never mixed up with a github.com one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

log = logging.getLogger(__name__)

GH_TIMEOUT = 10.0


@dataclass(frozen=True)
class GitHubToken:
    value: SecretStr
    source: str
    """"settings", "GITHUB_TOKEN" or "gh"."""

    def __repr__(self) -> str:
        return f"GitHubToken(source={self.source!r}, value=***)"


def web_host_for(api_url: str) -> str:
    """The web host of an API URL: api.github.com → github.com; GHE keeps its host."""
    host = (urlsplit(api_url).hostname or "github.com").lower()
    return "github.com" if host == "api.github.com" else host


async def gh_cli_token(
    host: str, *, gh: str | None = None, timeout: float = GH_TIMEOUT
) -> str | None:
    """The token the `gh` CLI holds for `host`, or None (not installed, not logged in)."""
    executable = gh or shutil.which("gh")
    if executable is None:
        return None
    env = {**os.environ, "GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1"}
    try:
        process = await asyncio.create_subprocess_exec(
            executable, "auth", "token", "--hostname", host,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
        )  # fmt: skip
    except OSError as err:
        log.warning("cannot run gh: %s", err.strerror)
        return None
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        log.warning("`gh auth token` did not answer within %.0f s", timeout)
        return None
    if process.returncode != 0:
        return None
    token = out.decode("utf-8", "replace").strip()
    return token or None


async def find_github_token(
    settings_token: str | SecretStr | None = None,
    *,
    env: Mapping[str, str] | None = None,
    use_gh_cli: bool = True,
    api_url: str = "https://api.github.com",
    gh: str | None = None,
) -> GitHubToken | None:
    """The first token found: settings, then `GITHUB_TOKEN`, then the `gh` CLI; or None."""
    if isinstance(settings_token, SecretStr):
        settings_token = settings_token.get_secret_value()
    if settings_token and settings_token.strip():
        return GitHubToken(SecretStr(settings_token.strip()), "settings")
    environ = os.environ if env is None else env
    from_env = (environ.get("GITHUB_TOKEN") or "").strip()
    if from_env:
        return GitHubToken(SecretStr(from_env), "GITHUB_TOKEN")
    if use_gh_cli:
        token = await gh_cli_token(web_host_for(api_url), gh=gh)
        if token:
            return GitHubToken(SecretStr(token), "gh")
    return None
