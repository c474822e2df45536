"""String enums mirrored by CHECK constraints in the database schema.

Keep each enum in step with `db/migrations/0001_schema.sql`; a test compares them.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)


class TaskMode(StrEnum):
    CODE = "code"
    ASK = "ask"
    DEBUG = "debug"
    DOCUMENTATION = "documentation"
    ARCHITECT = "architect"
    REVIEW = "review"
    PLAN = "plan"

    @property
    def read_only(self) -> bool:
        return self in (TaskMode.ASK, TaskMode.ARCHITECT, TaskMode.REVIEW, TaskMode.PLAN)


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Higher runs first."""
        return {"low": 0, "medium": 1, "high": 2, "critical": 3}[self.value]


class EventKind(StrEnum):
    MESSAGE = "message"
    TEXT_DELTA = "text_delta"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    STATUS = "status"
    ERROR = "error"
    USAGE = "usage"
    RETRY = "retry"
    REVIEW_COMMENT = "review_comment"


class ProviderKind(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    OPENAI_COMPATIBLE = "openai_compatible"
    SCRIPTED = "scripted"


class RepoKind(StrEnum):
    GITHUB = "github"
    LOCAL = "local"


class RepoStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"
    SUPERUSER = "superuser"


class UserTier(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class AccessLevel(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class LedgerKind(StrEnum):
    HOLD = "hold"
    DEBIT = "debit"
    RELEASE = "release"
    REFUND = "refund"
    CREDIT = "credit"
    GRANT = "grant"
    BONUS = "bonus"


class ExecutionStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ResultType(StrEnum):
    CODE_CHANGES = "code_changes"
    DOCUMENTATION = "documentation"
    ANALYSIS = "analysis"
    REVIEW = "review"
    PLAN = "plan"
    PR_CREATED = "pr_created"


class PullRequestState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"
    DRAFT = "draft"


class ReviewStatus(StrEnum):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    COMMENTED = "commented"


class WorkspaceStatus(StrEnum):
    CREATING = "creating"
    READY = "ready"
    RUNNING = "running"
    IDLE = "idle"
    REMOVED = "removed"


class AgentKind(StrEnum):
    PLANNER = "planner"
    CODER = "coder"
    REVIEWER = "reviewer"
    DATABASE = "database"
    BACKEND = "backend"
    FRONTEND = "frontend"
    PRODUCT_MANAGER = "product_manager"
    ARCHITECT = "architect"
    SENIOR_ENGINEER = "senior_engineer"
    PLATFORM_ENGINEER = "platform_engineer"
    DATA_ANALYST = "data_analyst"
