"""Models and their prices, for the new-task form, settings and `asynccoder model list`."""

from __future__ import annotations

from asynccoder_tui.db import ai_models
from asynccoder_tui.domain.models import AIModel
from asynccoder_tui.services.context import AppContext


async def list_models(ctx: AppContext, *, active_only: bool = True) -> list[AIModel]:
    return await ai_models.list_models(ctx.db.pool, active_only=active_only)
