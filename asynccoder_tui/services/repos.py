"""Repository use cases for the UI and CLI."""

from __future__ import annotations

from asynccoder_tui.db import repositories
from asynccoder_tui.services.context import AppContext


async def count_active(ctx: AppContext) -> int:
    return await repositories.count_repositories(ctx.db.pool, ctx.user.id)
