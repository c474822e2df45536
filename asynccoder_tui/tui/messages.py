"""Messages the app posts to its screens: the database is ready, and live updates from the bus.

The bus carries ids only; receivers re-read what changed through the services. `Resync` means
notifications may have been lost (a reconnect): re-read everything shown.
"""

from __future__ import annotations

from uuid import UUID

from textual.message import Message


class ContextReady(Message):
    """The database is open and `app.context` is set."""


class ContextFailed(Message):
    """Opening the database failed; the app retries in `retry_in` seconds (None: it cannot
    succeed without a change from the user, so it does not retry)."""

    def __init__(self, error: str, retry_in: float | None) -> None:
        super().__init__()
        self.error = error
        self.retry_in = retry_in


class TasksChanged(Message):
    """Tasks whose status, cost, diff stats or pull request changed (or that were queued)."""

    def __init__(self, task_ids: frozenset[UUID], *, queued: frozenset[UUID] = frozenset()) -> None:
        super().__init__()
        self.task_ids = task_ids
        self.queued = queued


class TaskEventsAppended(Message):
    """New transcript events for a task, up to `seq`."""

    def __init__(self, task_id: UUID, seq: int) -> None:
        super().__init__()
        self.task_id = task_id
        self.seq = seq


class CreditsChanged(Message):
    """The user's credit balance changed."""


class Resync(Message):
    """Notifications may have been missed: re-read everything on screen."""


class ConnectionChanged(Message):
    """The live connection to the database dropped or came back."""

    def __init__(self, connected: bool) -> None:
        super().__init__()
        self.connected = connected
