"""Query shapes shared by the screens, the CLI and the data layer: task filters and cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from asynccoder_tui.domain.enums import TaskMode, TaskStatus


@dataclass(frozen=True)
class TaskPageCursor:
    """Keyset position: the (created_at, id) of the last row seen."""

    created_at: datetime
    id: UUID


@dataclass(frozen=True)
class TaskFilter:
    repository_id: UUID | None = None
    statuses: tuple[TaskStatus, ...] = ()
    mode: TaskMode | None = None
    text: str | None = None
    parent_id: UUID | None = None
