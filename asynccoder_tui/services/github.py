"""GitHub: the user's token (found, or stored encrypted) and an API client built from it.

Token order: one pasted in settings (stored encrypted in the database), the config file or
`GITHUB_TOKEN`, then the `gh` CLI's stored token. The token is never logged, never put in an
event or audit row, and at rest only as Fernet ciphertext.
"""

from __future__ import annotations

from asynccoder_tui.db import audit, users
from asynccoder_tui.logs import register_secret
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.github import GitHubClient
from asynccoder_tui.vcs.github_auth import find_github_token
from asynccoder_tui.vcs.secrets import open_secret_box


async def resolve_token(ctx: AppContext) -> str | None:
    stored = await users.get_github_token(ctx.db.pool, ctx.user.id)
    if stored:
        box = await open_secret_box(ctx.settings.paths.key_file)
        token = box.decrypt(stored.decode("ascii"))
        register_secret(token)
        return token
    found = await find_github_token(
        ctx.settings.github_token,
        use_gh_cli=ctx.settings.use_gh_cli_token,
        api_url=ctx.settings.github_api_url,
    )
    if found is None:
        return None
    token = found.value.get_secret_value()
    register_secret(token)
    return token


async def github_client(ctx: AppContext) -> GitHubClient:
    return GitHubClient(await resolve_token(ctx), api_url=ctx.settings.github_api_url)


async def save_token(ctx: AppContext, token: str) -> None:
    """Store a pasted token, encrypted; the audit row says that it changed, not what it is."""
    token = token.strip()
    box = await open_secret_box(ctx.settings.paths.key_file)
    ciphertext = box.encrypt(token).encode("ascii")
    register_secret(token)
    await users.set_github_token(ctx.db.pool, ctx.user.id, ciphertext)
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="github_token.added", resource_type="user",
        resource_id=str(ctx.user.id), details={"key_location": box.location},
    )  # fmt: skip


async def remove_token(ctx: AppContext) -> None:
    await users.set_github_token(ctx.db.pool, ctx.user.id, None)
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="github_token.removed", resource_type="user",
        resource_id=str(ctx.user.id),
    )  # fmt: skip
