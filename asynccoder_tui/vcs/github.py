"""An async client for the GitHub REST API (github.com or GitHub Enterprise, by base URL).

What it does for its callers:
- the token goes only to the configured API origin (scheme, host, port): redirects are followed
  by hand and lose the token when they lead elsewhere; a pagination link to another host is
  refused; the token is never logged nor put in an error message;
- pagination through `Link: <...>; rel="next"`;
- conditional requests: GET answers are cached with their `ETag` and asked again with
  `If-None-Match` (a 304 costs no rate limit and returns the cached body);
- rate limits: `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`, `retry-after` and
  secondary limits wait as told, when the wait is at most `max_wait` seconds; otherwise a
  `GitHubError` says when to try again (with `retry_after`). 5xx and network errors are retried
  with backoff;
- 401, 403, 404, 422 and network failures become `GitHubError`s naming the repository and what
  to do;
- pull requests: create (draft or not; "already exists" links the open one), read state
  (open, closed, merged, draft) and merge time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import httpx
from pydantic import SecretStr

from asynccoder_tui.domain.errors import GitHubError
from asynccoder_tui.vcs.github_models import (
    GitHubBranch,
    GitHubRepo,
    GitHubUser,
    PullRequestInfo,
    RateLimit,
)
from asynccoder_tui.vcs.refs import validate_branch_name, validate_github_full_name

log = logging.getLogger(__name__)

_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Larger answers are refused: no GitHub answer we read comes near it."""
_ETAG_CACHE_SIZE = 512
_MAX_REDIRECTS = 5
_TOKEN_HINT = (
    "the token is missing, expired or revoked: set GITHUB_TOKEN, run `gh auth login`, "
    "or paste a new token in settings"
)


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    headers: httpx.Headers

    @property
    def next_url(self) -> str | None:
        for url, rel in _LINK.findall(self.headers.get("link", "")):
            if rel == "next":
                return url
        return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class GitHubClient:
    """One user's view of GitHub. Use as `async with GitHubClient(token) as gh: ...`."""

    def __init__(
        self,
        token: str | SecretStr | None,
        *,
        api_url: str = "https://api.github.com",
        timeout: float = 30.0,
        max_wait: float = 60.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if isinstance(token, SecretStr):
            token = token.get_secret_value()
        self._token = token or None
        self.api_url = api_url.rstrip("/") + "/"
        self._origin = _origin(self.api_url)
        self.max_wait = max_wait
        self.max_retries = max_retries
        self._sleep = sleep
        self._etags: OrderedDict[str, tuple[str, Reply]] = OrderedDict()
        self.rate_limit = RateLimit()
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport)

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r}, token={'***' if self._token else None})"

    # -- the API --------------------------------------------------------------------------

    async def get_user(self) -> GitHubUser:
        what = "reading the signed-in user"
        reply = await self._request("GET", "user", what=what)
        return _parse(GitHubUser.model_validate, reply.data, what)

    async def list_repos(self, *, max_pages: int = 50) -> list[GitHubRepo]:
        """Repositories the user owns, collaborates on or reaches through an organisation."""
        items = await self._paginate(
            "user/repos",
            {"per_page": 100, "sort": "updated",
             "affiliation": "owner,collaborator,organization_member"},
            what="listing your repositories", max_pages=max_pages,
        )  # fmt: skip
        return [_parse(GitHubRepo.from_api, item, "listing your repositories") for item in items]

    async def get_repo(self, full_name: str) -> GitHubRepo:
        what = f"reading the repository {full_name}"
        reply = await self._request("GET", _repo_path(full_name), what=what, repo=full_name)
        return _parse(GitHubRepo.from_api, reply.data, what)

    async def list_branches(self, full_name: str, *, max_pages: int = 20) -> list[GitHubBranch]:
        items = await self._paginate(
            f"{_repo_path(full_name)}/branches", {"per_page": 100},
            what="listing branches", repo=full_name, max_pages=max_pages,
        )  # fmt: skip
        return [_parse(GitHubBranch.from_api, item, "listing branches") for item in items]

    async def create_pull_request(
        self,
        full_name: str,
        *,
        title: str,
        body: str,
        head: str,
        base: str,
        draft: bool = False,
    ) -> PullRequestInfo:
        """Open a pull request from `head` into `base`; link the open one if it exists."""
        validate_branch_name(base)
        head_owner, _, head_branch = head.rpartition(":")
        validate_branch_name(head_branch)
        payload = {"title": title, "body": body, "head": head, "base": base, "draft": draft}
        path = f"{_repo_path(full_name)}/pulls"
        try:
            reply = await self._request(
                "POST", path, json=payload, what="opening a pull request", repo=full_name
            )
        except GitHubError as err:
            if err.status != 422:
                raise
            text = err.message.lower()
            if "already exists" in text:
                owner = head_owner or full_name.split("/")[0]
                found = await self.find_pull_request(full_name, head_branch, owner=owner)
                if found is not None:
                    return found.model_copy(update={"existing": True})
                raise
            if draft and "draft" in text:
                log.info("draft pull requests unsupported in %s; opening a ready one", full_name)
                return await self.create_pull_request(
                    full_name, title=title, body=body, head=head, base=base, draft=False
                )
            raise
        return _parse(PullRequestInfo.from_api, reply.data, "opening a pull request")

    async def find_pull_request(
        self, full_name: str, branch: str, *, owner: str | None = None, state: str = "open"
    ) -> PullRequestInfo | None:
        """The pull request whose head is `owner:branch` (newest first), or None."""
        validate_branch_name(branch)
        head = f"{owner or full_name.split('/')[0]}:{branch}"
        reply = await self._request(
            "GET", f"{_repo_path(full_name)}/pulls",
            params={"head": head, "state": state, "per_page": 10},
            what="looking up the branch's pull request", repo=full_name,
        )  # fmt: skip
        if not reply.data:
            return None
        if not isinstance(reply.data, list):
            raise _unexpected("looking up the branch's pull request", "not a list")
        return _parse(PullRequestInfo.from_api, reply.data[0], "looking up the pull request")

    async def get_pull_request(self, full_name: str, number: int) -> PullRequestInfo:
        reply = await self._request(
            "GET", f"{_repo_path(full_name)}/pulls/{int(number)}",
            what=f"reading pull request #{number}", repo=full_name,
        )  # fmt: skip
        return _parse(PullRequestInfo.from_api, reply.data, f"reading pull request #{number}")

    # -- plumbing -------------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        return urljoin(self.api_url, path_or_url)

    def _same_origin(self, url: str) -> bool:
        return _origin(url) == self._origin

    async def _paginate(
        self,
        path: str,
        params: dict[str, Any],
        *,
        what: str,
        repo: str | None = None,
        max_pages: int,
    ) -> list[Any]:
        items: list[Any] = []
        url: str | None = self._url(path)
        query: dict[str, Any] | None = params
        pages = 0
        while url is not None and pages < max_pages:
            if not self._same_origin(url):
                raise GitHubError(
                    f"GitHub's next page while {what} points to another host "
                    f"({urlsplit(url).hostname}); refusing to send the token there",
                    hint="check github_api_url; a proxy may be rewriting links",
                )
            reply = await self._request("GET", url, params=query, what=what, repo=repo)
            if not isinstance(reply.data, list):
                raise GitHubError(f"GitHub answered {what} with something other than a list")
            items.extend(reply.data)
            url, query = reply.next_url, None
            pages += 1
        return items

    async def _request(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        repo: str | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> Reply:
        url = self._url(path_or_url)
        cache_key = None
        if method == "GET":
            # (httpx.URL(url, params=None) would drop the query of a pagination link.)
            cache_key = str(httpx.URL(url).copy_merge_params(params)) if params else url
        attempt = 0
        while True:
            cached = self._etags.get(cache_key) if cache_key else None
            try:
                response = await self._send(method, url, params, json, cached)
            except httpx.TransportError as err:
                if attempt < self.max_retries:
                    attempt += 1
                    await self._sleep(min(2.0**attempt, self.max_wait))
                    continue
                host = urlsplit(url).hostname
                raise GitHubError(
                    f"cannot reach GitHub at {host} while {what}: {type(err).__name__}: {err}",
                    hint="check the network connection and github_api_url",
                ) from None
            self._note_rate_limit(response)
            if response.status_code == 304 and cached is not None:
                self._etags.move_to_end(cache_key)  # type: ignore[arg-type]
                return cached[1]
            wait = self._rate_limit_wait(response)
            if wait is not None:
                if wait <= self.max_wait and attempt < self.max_retries:
                    attempt += 1
                    log.info("GitHub rate limit: waiting %.0f s before %s", wait, what)
                    await self._sleep(wait)
                    continue
                raise self._rate_limit_error(response, wait, what)
            if response.status_code >= 500 and attempt < self.max_retries:
                attempt += 1
                await self._sleep(min(2.0**attempt, self.max_wait))
                continue
            if response.status_code >= 400:
                raise _http_error(response, what, repo)
            reply = Reply(response.status_code, _json(response), response.headers)
            etag = response.headers.get("etag")
            if cache_key and etag:
                self._etags[cache_key] = (etag, reply)
                self._etags.move_to_end(cache_key)
                while len(self._etags) > _ETAG_CACHE_SIZE:
                    self._etags.popitem(last=False)
            return reply

    async def _send(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        cached: tuple[str, Reply] | None,
    ) -> httpx.Response:
        """One request, following redirects by hand; the token only goes to our origin."""
        for _ in range(_MAX_REDIRECTS + 1):
            headers = {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "asynccoder",
            }
            if self._token and self._same_origin(url):
                headers["Authorization"] = f"Bearer {self._token}"
            if cached is not None:
                headers["If-None-Match"] = cached[0]
            response = await self._bounded(
                self._http.build_request(method, url, params=params, json=json, headers=headers)
            )
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("location")
            if not location:
                return response
            url = urljoin(str(response.url), location)
            params = None
            if response.status_code == 303:
                method, json = "GET", None
        raise GitHubError("GitHub redirected too many times", hint="check github_api_url")

    async def _bounded(self, request: httpx.Request) -> httpx.Response:
        """The response, its body read up to `MAX_BODY_BYTES` (a `GitHubError` past that)."""
        response = await self._http.send(request, stream=True)
        try:
            declared = _int(response.headers.get("content-length"))
            if declared is not None and declared > MAX_BODY_BYTES:
                raise _too_large(declared)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise _too_large(len(body))
        finally:
            await response.aclose()
        headers = httpx.Headers(
            [(k, v) for k, v in response.headers.multi_items()
             if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        )  # fmt: skip
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    def _note_rate_limit(self, response: httpx.Response) -> None:
        headers = response.headers
        if "x-ratelimit-remaining" not in headers:
            return
        reset = _int(headers.get("x-ratelimit-reset"))
        self.rate_limit = RateLimit(
            limit=_int(headers.get("x-ratelimit-limit")),
            remaining=_int(headers.get("x-ratelimit-remaining")),
            reset_at=_moment(reset),
            resource=headers.get("x-ratelimit-resource"),
        )

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait when `response` is a rate-limit refusal, else None."""
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = _int(headers.get("retry-after"))
        if retry_after is not None:
            return float(max(retry_after, 1))
        if headers.get("x-ratelimit-remaining") == "0":
            reset = _int(headers.get("x-ratelimit-reset"))
            if reset is not None:
                return max(reset - time.time(), 0.0) + 1.0
            return 60.0
        body = _json(response)
        message = str(body.get("message", "") if isinstance(body, dict) else "").lower()
        if "rate limit" in message or response.status_code == 429:
            return 60.0
        return None

    def _rate_limit_error(self, response: httpx.Response, wait: float, what: str) -> GitHubError:
        moment = _moment(time.time() + wait)
        when = moment.astimezone().strftime("%H:%M:%S") if moment else "a long time"
        secondary = response.headers.get("x-ratelimit-remaining") != "0"
        kind = "secondary rate limit" if secondary else "rate limit"
        return GitHubError(
            f"GitHub's {kind} stopped {what}; try again after {when} (in {wait:.0f} s)",
            status=response.status_code,
            retry_after=wait,
            hint="wait, or make fewer requests (a token raises the limit for anonymous use)",
        )


T = TypeVar("T")


def _unexpected(what: str, detail: str) -> GitHubError:
    return GitHubError(
        f"GitHub sent an unexpected answer while {what} ({detail})",
        hint="check github_api_url (a proxy or another service may be answering), then retry",
    )


def _parse(build: Callable[[Any], T], data: Any, what: str) -> T:
    """`build(data)`, or a `GitHubError` when GitHub's answer is not the expected shape."""
    if not isinstance(data, dict):
        raise _unexpected(what, f"a {type(data).__name__} instead of an object")
    try:
        return build(data)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise _unexpected(what, f"{type(err).__name__}: {str(err)[:200]}") from None


def _too_large(size: int) -> GitHubError:
    return GitHubError(
        f"GitHub's answer is too large ({size:,} bytes, larger than {MAX_BODY_BYTES:,})",
        hint="check github_api_url: something other than GitHub may be answering",
    )


def _moment(timestamp: float | None) -> datetime | None:
    """The UTC time of `timestamp`, or None when it is absent or out of any calendar."""
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _repo_path(full_name: str) -> str:
    owner, name = validate_github_full_name(full_name).split("/")
    return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _http_error(response: httpx.Response, what: str, repo: str | None) -> GitHubError:
    status = response.status_code
    body = _json(response)
    message = body.get("message", "") if isinstance(body, dict) else ""
    details = []
    if isinstance(body, dict):
        for item in body.get("errors") or []:
            if isinstance(item, dict):
                details.append(str(item.get("message") or item.get("code") or ""))
            else:
                details.append(str(item))
    said = "; ".join(p for p in [message, *details] if p) or response.reason_phrase
    target = f" for {repo}" if repo else ""
    if status == 401:
        return GitHubError(
            f"GitHub rejected the token (401) while {what}{target}", status=401, hint=_TOKEN_HINT
        )
    if status == 403:
        if response.headers.get("x-github-sso"):
            hint = "authorize the token for the organisation's single sign-on on github.com"
        else:
            hint = (
                f"the token lacks permission{target}: it needs the repo scope (classic tokens) "
                "or contents and pull requests write access (fine-grained tokens)"
            )
        return GitHubError(f"GitHub refused {what}{target} (403): {said}", status=403, hint=hint)
    if status == 404:
        name = repo or "the resource"
        return GitHubError(
            f"{name} was not found on GitHub while {what} (404)",
            status=404,
            hint="check the owner/name, and that the token can see private repositories",
        )
    if status == 422:
        return GitHubError(
            f"GitHub could not complete {what}{target} (422): {said}",
            status=422,
            hint="check the branch names and that the branch is pushed",
        )
    trouble = "GitHub is having trouble; try again in a few minutes" if status >= 500 else None
    return GitHubError(
        f"GitHub answered {status} while {what}{target}: {said}", status=status, hint=trouble
    )
