"""Settings saved from the UI: config file kept valid, API keys only as ciphertext."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from asynccoder_tui.config import load_settings
from asynccoder_tui.domain.errors import InputError
from asynccoder_tui.services import settings as settings_service
from asynccoder_tui.services.context import AppContext


async def test_save_settings_writes_toml_and_applies(db_url: str, home: Path) -> None:
    (home / "config.toml").write_text('theme = "nord"\nkeybindings = { quit = "ctrl+q" }\n')
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        new = await settings_service.save_settings(
            ctx,
            {"worker_concurrency": 3, "task_max_cost": Decimal("0.50"), "sandbox_network": True},
        )
        assert (new.worker_concurrency, new.task_max_cost, new.sandbox_network) == (
            3,
            Decimal("0.50"),
            True,
        )
        data = tomllib.loads((home / "config.toml").read_text())
        assert data["theme"] == "nord" and data["keybindings"] == {"quit": "ctrl+q"}
        assert data["worker_concurrency"] == 3 and data["task_max_cost"] == "0.50"
        assert load_settings().worker_concurrency == 3
        with pytest.raises(InputError, match="worker_concurrency"):
            await settings_service.save_settings(ctx, {"worker_concurrency": -1})
        with pytest.raises(InputError, match="cannot be changed"):
            await settings_service.save_settings(ctx, {"database_url": "postgresql://x"})
    finally:
        await ctx.close()


async def test_api_key_is_stored_encrypted_and_applied_at_start(db_url: str, home: Path) -> None:
    key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        await settings_service.save_api_key(ctx, "anthropic_api_key", key)
        assert ctx.settings.anthropic_api_key.get_secret_value() == key
        rows = await ctx.db.pool.fetch("SELECT preferences::text AS p FROM users")
        audit_rows = await ctx.db.pool.fetch("SELECT details::text AS d FROM audit_logs")
        assert all(key not in r["p"] for r in rows)
        assert all(key not in r["d"] for r in audit_rows)
        assert (
            key not in (home / "config.toml").read_text()
            if (home / "config.toml").exists()
            else True
        )
    finally:
        await ctx.close()
    again = await AppContext.open(load_settings(database_url=db_url))
    try:
        assert again.settings.anthropic_api_key.get_secret_value() == key
        assert settings_service.masked(again.settings.anthropic_api_key) == "sk-ant…6789"
        await settings_service.remove_api_key(again, "anthropic_api_key")
    finally:
        await again.close()
    third = await AppContext.open(load_settings(database_url=db_url))
    try:
        assert third.settings.anthropic_api_key is None
    finally:
        await third.close()


async def test_bad_api_key_refused(db_url: str, home: Path) -> None:
    ctx = await AppContext.open(load_settings(database_url=db_url))
    try:
        with pytest.raises(InputError):
            await settings_service.save_api_key(ctx, "openai_api_key", "two words")
    finally:
        await ctx.close()
