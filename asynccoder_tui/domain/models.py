"""Pydantic models of the records the layers pass to each other.

They mirror rows of the database schema but know nothing of SQL: `db/` builds them from rows,
services hand them to the UI and CLI. Money is `Decimal` US dollars; credits are integers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from asynccoder_tui.domain.enums import (
    AgentKind,
    EventKind,
    LedgerKind,
    Priority,
    ProviderKind,
    PullRequestState,
    RepoKind,
    RepoStatus,
    TaskMode,
    TaskStatus,
    UserRole,
    UserTier,
)


class Record(BaseModel):
    """Base of every model: immutable, built from database rows by field name."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class User(Record):
    id: UUID
    username: str
    email: str | None = None
    display_name: str | None = None
    github_login: str | None = None
    role: UserRole = UserRole.USER
    tier: UserTier = UserTier.FREE
    credits: int = 0
    credits_used: int = 0
    monthly_token_limit: int | None = None
    monthly_cost_limit: Decimal | None = None
    preferences: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class Repository(Record):
    id: UUID
    owner_id: UUID
    kind: RepoKind
    name: str
    full_name: str | None = None
    github_id: int | None = None
    local_path: str | None = None
    clone_url: str | None = None
    default_branch: str = "main"
    language: str | None = None
    private: bool = False
    settings: dict[str, Any] = Field(default_factory=dict)
    status: RepoStatus = RepoStatus.ACTIVE
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def display_name(self) -> str:
        return self.full_name or self.name


class AIModel(Record):
    id: UUID
    name: str
    provider: ProviderKind
    display_name: str
    input_price: Decimal = Decimal(0)
    output_price: Decimal = Decimal(0)
    cache_read_price: Decimal = Decimal(0)
    cache_write_price: Decimal = Decimal(0)
    context_window: int = 128_000
    max_output: int = 8_192
    capabilities: list[str] = Field(default_factory=list)
    base_url: str | None = None
    active: bool = True


class Agent(Record):
    id: UUID
    kind: AgentKind
    name: str
    system_prompt: str
    default_model: str | None = None
    allowed_tools: list[str] | None = None
    capabilities: list[str] = Field(default_factory=list)
    current_load: int = 0
    active: bool = True


class Task(Record):
    id: UUID
    owner_id: UUID
    repository_id: UUID
    parent_id: UUID | None = None
    model: str
    provider: ProviderKind = ProviderKind.SCRIPTED
    agent_kind: AgentKind | None = None
    title: str
    prompt: str
    mode: TaskMode = TaskMode.CODE
    priority: Priority = Priority.MEDIUM
    status: TaskStatus = TaskStatus.QUEUED
    base_branch: str | None = None
    work_branch: str | None = None
    attempt: int = 0
    max_attempts: int = 3
    run_after: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    billing_run: int = 1
    run_cost: Decimal = Decimal(0)
    estimated_credits: int = 0
    held_credits: int = 0
    used_credits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)
    error: str | None = None
    exit_status: str | None = None
    summary: str | None = None
    commit_sha: str | None = None
    files_changed: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    pr_url: str | None = None
    pr_state: PullRequestState | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    changed_at: datetime | None = None
    """Last visible change: status, cost, diff size or title (read by the task list and
    `get_task`; an event append or a lease renewal is no such change)."""
    children_done: int = 0
    """Of a plan's parent: children completed (read by the task list and `get_task`)."""
    children_total: int = 0
    """Of a plan's parent: children in the plan (0: not a parent)."""


class ReviewMark(Record):
    """A file of a task's diff marked reviewed, as its content was then (`fingerprint`)."""

    task_id: UUID
    path: str
    fingerprint: str
    user_id: UUID
    created_at: datetime | None = None


class TaskEvent(Record):
    id: int
    task_id: UUID
    seq: int
    kind: EventKind
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class CreditTransaction(Record):
    id: int
    user_id: UUID
    task_id: UUID | None = None
    kind: LedgerKind
    amount: int
    balance_after: int
    idempotency_key: str
    description: str | None = None
    created_at: datetime | None = None


class PullRequest(Record):
    id: UUID
    task_id: UUID
    repository_id: UUID
    number: int
    url: str
    title: str
    state: PullRequestState
    head_branch: str
    base_branch: str
    merged_at: datetime | None = None
    last_synced_at: datetime | None = None
    created_at: datetime | None = None


class AuditEntry(Record):
    id: int
    user_id: UUID | None = None
    action: str
    resource_type: str
    resource_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class ReviewFinding(BaseModel):
    """One issue or suggestion of a review, at a file and line when the reviewer gave them."""

    model_config = ConfigDict(extra="ignore")

    message: str
    file: str | None = None
    line: int | None = None
    severity: str | None = None


class Review(Record):
    """The reviewer agent's verdict on a task's commit (scores 0..1, 1 nothing to fix)."""

    id: UUID
    task_id: UUID
    commit_sha: str | None = None
    reviewer: str = "reviewer"
    status: str
    summary: str = ""
    quality_score: Decimal | None = None
    security_score: Decimal | None = None
    issues: list[ReviewFinding] = Field(default_factory=list)
    suggestions: list[ReviewFinding] = Field(default_factory=list)
    created_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"
