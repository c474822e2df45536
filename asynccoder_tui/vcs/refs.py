"""Validation of what reaches git from outside: branch names, remote URLs, task ids, paths.

Branch names follow `git check-ref-format --branch` (a test compares the two on a corpus of
names), plus our own refusals: nothing that git could read as an option (a leading `-`), no
`HEAD` or `@`, no spaces. Remote URLs are limited to the transports a repository needs
(https, http, ssh, git, file, scp-like `user@host:path`, absolute paths); `ext::`/`fd::` and
other `<transport>::` helpers, option-like strings (`--upload-pack=...`) and URLs carrying a
password are refused.

Every check raises `InputError` with a message a person can act on. This module runs no git and
touches no file.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from asynccoder_tui.domain.errors import InputError

BRANCH_PREFIX = "asynccoder/"
_MAX_REF_LENGTH = 200
_FORBIDDEN_REF_CHARS = frozenset(" ~^:?*[\\")
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_SCP_LIKE = re.compile(r"^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^\s]+$")
_URL_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})


def ref_format_problem(name: str) -> str | None:
    """Why `name` is not a valid ref name per `git check-ref-format`, or None when it is.

    `name` is checked as a one-level-or-more name (the `--allow-onelevel` rules); callers add
    their own prefix rules.
    """
    if not name:
        return "it is empty"
    if len(name) > _MAX_REF_LENGTH:
        return f"it is longer than {_MAX_REF_LENGTH} characters"
    if name == "@":
        return "'@' alone means HEAD"
    if name.startswith("/") or name.endswith("/"):
        return "it starts or ends with '/'"
    if "//" in name:
        return "it contains '//'"
    if name.endswith("."):
        return "it ends with '.'"
    if ".." in name:
        return "it contains '..'"
    if "@{" in name:
        return "it contains '@{'"
    for ch in name:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            return "it contains a control character"
        if ch in _FORBIDDEN_REF_CHARS:
            shown = "a space" if ch == " " else f"'{ch}'"
            return f"it contains {shown}"
    for component in name.split("/"):
        if component.startswith("."):
            return f"the part '{component}' starts with '.'"
        if component.endswith(".lock"):
            return f"the part '{component}' ends with '.lock'"
    return None


def validate_branch_name(name: str) -> str:
    """`name` when it is a safe branch name; `InputError` otherwise."""
    if not isinstance(name, str):
        raise InputError("a branch name must be text")
    problem = ref_format_problem(name)
    if problem is None and name.startswith("-"):
        problem = "it starts with '-' (git would read it as an option)"
    if problem is None and name == "HEAD":
        problem = "'HEAD' is not a branch"
    if problem is None and name.startswith("refs/"):
        problem = "give the branch name without 'refs/'"
    if problem is not None:
        raise InputError(
            f"invalid branch name {name!r}: {problem}",
            hint="use letters, digits, '-', '_', '.' and '/' (see git check-ref-format)",
        )
    return name


def validate_task_id(task_id: object) -> str:
    """The task id as text, when it is safe in a path and a branch name (a UUID is)."""
    text = str(task_id)
    if not _TASK_ID.match(text):
        raise InputError(
            f"invalid task id {text!r}",
            hint="task ids are UUIDs or letters, digits, '-' and '_' (at most 64)",
        )
    return text


def validate_sha(sha: str) -> str:
    """A full hexadecimal object id (SHA-1 or SHA-256)."""
    if not _SHA.match(sha):
        raise InputError(f"invalid commit id {sha!r}")
    return sha


def slugify(text: str, max_length: int = 40) -> str:
    """A short, branch-safe slug of `text` (ASCII letters, digits and '-'); 'task' if empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or "task"


def task_branch(task_id: object, slug: str) -> str:
    """The work branch of a task: `asynccoder/<task-id>-<slug>`."""
    return validate_branch_name(f"{BRANCH_PREFIX}{validate_task_id(task_id)}-{slugify(slug)}")


def validate_remote_url(url: str) -> str:
    """`url` when it is a remote git may fetch from and push to safely; `InputError` otherwise."""
    if not isinstance(url, str) or not url:
        raise InputError("the repository URL is empty")

    def refuse(why: str, hint: str | None = None) -> InputError:
        return InputError(
            f"refused repository URL {url!r}: {why}",
            hint=hint or "use an https://, ssh:// or git@host:owner/repo URL, or an absolute path",
        )

    if url.startswith("-"):
        raise refuse("it starts with '-' (git would read it as an option)")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or ch.isspace() for ch in url):
        raise refuse("it contains a space or a control character")
    if "::" in url:
        raise refuse("transport helpers such as ext:: and fd:: are not allowed")
    if url.startswith("/"):
        return url
    if "://" in url:
        try:
            parts = urlsplit(url)
        except ValueError as err:
            raise refuse(f"it cannot be parsed ({err})") from None
        if parts.scheme.lower() not in _URL_SCHEMES:
            raise refuse(f"the scheme {parts.scheme!r} is not allowed")
        if parts.password is not None:
            raise refuse(
                "it contains a password or token",
                hint="remove the credentials from the URL; give the token in settings",
            )
        if parts.scheme.lower() != "file" and not parts.hostname:
            raise refuse("it has no host")
        if (parts.hostname or "").startswith("-") or (parts.username or "").startswith("-"):
            raise refuse("its host or user starts with '-' (ssh would read it as an option)")
        return url
    if _SCP_LIKE.match(url):
        return url
    raise refuse("it is neither a URL nor an absolute path")


def validate_github_full_name(full_name: str) -> str:
    """`owner/name` of a GitHub repository, safe to put in an API path."""
    parts = full_name.split("/") if isinstance(full_name, str) else []
    if len(parts) != 2 or not all(_GITHUB_NAME.match(p) and p not in (".", "..") for p in parts):
        raise InputError(
            f"invalid GitHub repository name {full_name!r}",
            hint="give it as owner/name, for example octocat/hello-world",
        )
    return full_name


def validate_relative_path(path: str) -> str:
    """A repository-relative path (no absolute path, no '..', no NUL), without '.' parts."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InputError(f"invalid path {path!r}")
    if path.startswith("/"):
        raise InputError(f"path {path!r} must be relative to the repository")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise InputError(f"path {path!r} leaves the repository", hint="remove '..' from the path")
    return "/".join(parts)
