"""What the GitHub client returns: users, repositories, branches, pull requests, rate limits.

Built from the REST API's JSON; unknown fields are ignored, so newer API versions keep working.
No I/O here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from asynccoder_tui.domain.enums import PullRequestState


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GitHubUser(_Model):
    login: str
    id: int
    name: str | None = None
    email: str | None = None


class GitHubRepo(_Model):
    id: int
    full_name: str
    name: str
    owner: str
    private: bool = False
    default_branch: str = "main"
    clone_url: str
    html_url: str | None = None
    language: str | None = None
    description: str | None = None
    archived: bool = False
    fork: bool = False
    pushed_at: datetime | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GitHubRepo:
        owner = (data.get("owner") or {}).get("login") or data["full_name"].split("/")[0]
        return cls.model_validate({**data, "owner": owner})


class GitHubBranch(_Model):
    name: str
    sha: str
    protected: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> GitHubBranch:
        return cls(
            name=data["name"],
            sha=(data.get("commit") or {}).get("sha", ""),
            protected=bool(data.get("protected", False)),
        )


class PullRequestInfo(_Model):
    number: int
    url: str
    """The page a person opens (`html_url`)."""
    title: str
    state: PullRequestState
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    head: str
    base: str
    existing: bool = False
    """True when the pull request was already open and has been linked, not created."""

    @classmethod
    def from_api(cls, data: dict[str, Any], *, existing: bool = False) -> PullRequestInfo:
        merged_at = data.get("merged_at")
        merged = bool(data.get("merged")) or merged_at is not None
        draft = bool(data.get("draft", False))
        if merged:
            state = PullRequestState.MERGED
        elif data.get("state") == "closed":
            state = PullRequestState.CLOSED
        elif draft:
            state = PullRequestState.DRAFT
        else:
            state = PullRequestState.OPEN
        return cls(
            number=data["number"],
            url=data.get("html_url") or data.get("url", ""),
            title=data.get("title", ""),
            state=state,
            draft=draft,
            merged=merged,
            merged_at=merged_at,
            closed_at=data.get("closed_at"),
            head=(data.get("head") or {}).get("ref", ""),
            base=(data.get("base") or {}).get("ref", ""),
            existing=existing,
        )


class RateLimit(_Model):
    """The last rate-limit state GitHub reported."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    resource: str | None = None
