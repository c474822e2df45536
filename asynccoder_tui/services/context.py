"""`AppContext`: settings, the open database and the current user, shared by every service.

The UI and the CLI open one context, pass it to the service functions, and close it at exit.
"""

from __future__ import annotations

from dataclasses import dataclass

from asynccoder_tui.config import Settings
from asynccoder_tui.db import users
from asynccoder_tui.db.pool import Database, open_database
from asynccoder_tui.domain.models import User
from asynccoder_tui.logs import register_secret


@dataclass
class AppContext:
    settings: Settings
    db: Database
    user: User

    @classmethod
    async def open(cls, settings: Settings, *, max_pool_size: int = 10) -> AppContext:
        for secret in (settings.anthropic_api_key, settings.openai_api_key, settings.github_token):
            if secret is not None:
                register_secret(secret.get_secret_value())
        if settings.database_url is not None:
            from urllib.parse import urlsplit

            try:
                register_secret(urlsplit(settings.database_url.get_secret_value()).password)
            except ValueError:  # not a URL at all: connecting says so, in words
                pass
        db = await open_database(settings, max_size=max_pool_size)
        try:
            user = await users.ensure_current_user(
                db.pool, starting_credits=settings.starting_credits
            )
        except BaseException:
            await db.close()
            raise
        ctx = cls(settings=settings, db=db, user=user)
        from asynccoder_tui.services.settings import apply_stored_keys

        try:
            await apply_stored_keys(ctx)
        except BaseException:
            await db.close()
            raise
        return ctx

    async def refresh_user(self) -> User:
        self.user = await users.get_user(self.db.pool, self.user.id)
        return self.user

    async def server_version(self) -> str:
        from asynccoder_tui.db.status import server_version

        return await server_version(self.db.pool)

    async def close(self) -> None:
        await self.db.close()
