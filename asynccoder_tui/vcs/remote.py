"""Remote access: the cached bare clone of a GitHub repository, fetching, and token headers.

A GitHub repository is cloned once into `<cache>/mirrors/<name>-<hash>.git`, a bare repository
whose remote branches land in `refs/remotes/origin/*` (so a fetch never moves a task's branch,
which lives in `refs/heads/asynccoder/*`), and fetched before each task.

A token reaches git only as an HTTP header in the environment-borne config
(`http.<scheme://host/>.extraHeader`, scoped to the remote's own host): never in argv, never in
a URL, never in a file. Callers hold the per-repository lock around these calls.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from asynccoder_tui.domain.errors import GitError, WorkspaceError
from asynccoder_tui.vcs.git import Git
from asynccoder_tui.vcs.refs import validate_remote_url

REMOTE_FETCH_REFSPEC = "+refs/heads/*:refs/remotes/origin/*"


def auth_config(url: str, token: str | None) -> list[tuple[str, str]]:
    """Git config pairs that send `token` to the host of `url` only (https and http remotes)."""
    if not token:
        return []
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        return []
    host = parts.hostname.lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    credentials = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return [
        (
            f"http.{parts.scheme.lower()}://{host}/.extraHeader",
            f"Authorization: Basic {credentials}",
        )
    ]


async def ensure_mirror(path: Path, url: str, *, timeout: float) -> Git:
    """The bare cache clone at `path` for `url`, created empty if missing (no fetch yet)."""
    validate_remote_url(url)
    git = Git(git_dir=path, cwd=path.parent, timeout=timeout)
    if (path / "HEAD").is_file():
        current = await git.run("config", "--get", "remote.origin.url", check=False)
        if current.text != url:
            await git.run("config", "remote.origin.url", url)
        await git.run("config", "--replace-all", "remote.origin.fetch", REMOTE_FETCH_REFSPEC)
        return git
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".init-", dir=path.parent))
    try:
        init = Git(cwd=path.parent, timeout=timeout)
        await init.run("init", "--bare", "--quiet", "--", str(staging))
        setup = Git(git_dir=staging, cwd=path.parent, timeout=timeout)
        await setup.run("config", "remote.origin.url", url)
        await setup.run("config", "remote.origin.fetch", REMOTE_FETCH_REFSPEC)
        await setup.run("config", "core.logAllRefUpdates", "true")
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return git


async def fetch_origin(git: Git, url: str, token: str | None, *, label: str) -> None:
    """Fetch origin's branches into `refs/remotes/origin/*` (pruning deleted ones)."""
    secrets = [token] if token else []
    try:
        await git.run(
            "fetch", "--prune", "--no-tags", "--quiet", "origin",
            config=auth_config(url, token), secrets=secrets,
        )  # fmt: skip
    except GitError as err:
        text = err.message.lower()
        if "no space left" in text:
            hint = f"the disk holding the cache ({git.git_dir}) is full: free some space"
        elif "read-only file system" in text or "permission denied" in text:
            hint = f"the cache folder ({git.git_dir}) cannot be written: fix its permissions"
        elif "authentication" in text or "403" in text or "401" in text or "could not read" in text:
            hint = "check that the GitHub token can read this repository"
        elif "not found" in text or "does not appear to be a git repository" in text:
            hint = "check the repository's clone URL and that the token can see it"
        else:
            hint = "check the network, then try again"
        raise WorkspaceError(f"cannot fetch {label}: {err.message}", hint=hint) from err
