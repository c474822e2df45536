"""The one error hierarchy of Async Coder.

Every error a person may see is an `AsyncCoderError` with a message that says what went wrong
and, where there is one, a `hint` that says what to do. Edges (CLI, UI, worker loop) catch
`AsyncCoderError` and show `str(err)`; anything else is a bug and is logged with its traceback.
"""

from __future__ import annotations


class AsyncCoderError(Exception):
    """Base class: a failure with a message a person can act on."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigError(AsyncCoderError):
    """Settings, the config file or a CLI flag is invalid."""


class InputError(AsyncCoderError):
    """Input from a person, a repository or a remote is malformed or refused."""


class NotFoundError(AsyncCoderError):
    """A repository, task or other record does not exist (or is not visible to this user)."""


class ConflictError(AsyncCoderError):
    """The request conflicts with the current state (already exists, wrong status)."""


class DatabaseError(AsyncCoderError):
    """The database failed in a way the caller cannot fix by changing its input."""


class DatabaseUnavailableError(DatabaseError):
    """The database cannot be reached or started."""


class MigrationError(DatabaseError):
    """Migrations cannot be applied (tampered, out of order, failed)."""


class InsufficientCreditsError(AsyncCoderError):
    """The user's credit balance does not cover the request."""


class LimitExceededError(AsyncCoderError):
    """A concurrency, rate, token or cost limit refuses the request."""

    def __init__(
        self, message: str, *, limit: str, retry_after: float | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit
        self.retry_after = retry_after


class ProviderError(AsyncCoderError):
    """An AI provider call failed.

    `retryable` says whether the same request may succeed later (429, 529, 5xx, timeouts,
    dropped connections); `status` is the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
        context_exceeded: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.context_exceeded = context_exceeded


class ToolError(AsyncCoderError):
    """An agent tool call was refused or failed; the message goes back to the model."""


class WorkspaceError(AsyncCoderError):
    """A task workspace cannot be created, read or cleaned up."""


class GitError(AsyncCoderError):
    """A git command failed."""


class GitHubError(AsyncCoderError):
    """The GitHub API refused or failed a request."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after


class SandboxError(AsyncCoderError):
    """The command sandbox cannot run a command."""


class SecretStoreError(AsyncCoderError):
    """A secret cannot be encrypted or decrypted (missing or wrong key)."""


class TaskCancelledError(AsyncCoderError):
    """The task was cancelled by its owner."""
