"""The audit log: who did what to which resource. Details never hold secrets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many
from asynccoder_tui.domain.models import AuditEntry


async def record(
    db: Executor,
    *,
    user_id: UUID | None,
    action: str,
    resource_type: str,
    resource_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await db.execute(
        """INSERT INTO audit_logs (user_id, action, resource_type, resource_id, details)
           VALUES ($1, $2, $3, $4, $5)""",
        user_id,
        action,
        resource_type,
        resource_id,
        details or {},
    )


async def list_entries(db: Executor, user_id: UUID, *, limit: int = 100) -> list[AuditEntry]:
    rows = await db.fetch(
        """SELECT id, user_id, action, resource_type, resource_id, details, created_at
           FROM audit_logs WHERE user_id = $1 ORDER BY id DESC LIMIT $2""",
        user_id,
        limit,
    )
    return many(AuditEntry, rows)
