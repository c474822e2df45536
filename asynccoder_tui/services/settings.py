"""Settings the user changes from the UI: the config file, API keys kept encrypted, limits.

- Plain settings (theme, default model and mode, worker concurrency, sandbox network...) are
  written to the TOML config file, keeping any keys already there; a change takes effect for
  this process at once (`ctx.settings` is replaced) and for every later start.
- API keys pasted in the UI are stored encrypted (Fernet, key in the keyring or a 0600 file) in
  the user's preferences and applied at start when the environment does not set them; they are
  never written to the config file, a log, an event or an audit row.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError, create_model

from asynccoder_tui.config import Settings, config_file_path, load_settings
from asynccoder_tui.db import audit, users
from asynccoder_tui.domain.errors import ConfigError, InputError
from asynccoder_tui.logs import register_secret
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.secrets import open_secret_box

EDITABLE = {
    "theme", "default_model", "default_mode", "worker_concurrency", "sandbox_network",
    "bell_on_finish", "task_max_cost", "task_max_steps", "task_max_seconds", "command_timeout",
    "max_concurrent_tasks_per_user", "max_submissions_per_minute", "commit_author_name",
    "commit_author_email", "assisted_by_trailer",
}  # fmt: skip
API_KEYS = {"anthropic_api_key": "ANTHROPIC_API_KEY", "openai_api_key": "OPENAI_API_KEY"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Decimal):
        return f'"{value}"'
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write a {type(value).__name__} to the config file")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml_value(key)


def render_toml(data: dict[str, Any]) -> str:
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in sorted(data.items()))


def _write_config(path: Path, changes: dict[str, Any]) -> None:
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(
                f"cannot update {path}: {err}", hint="fix or remove the file"
            ) from err
    current.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(render_toml(current), encoding="utf-8")
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one, never half


async def save_settings(ctx: AppContext, changes: dict[str, Any]) -> Settings:
    """Validate and save plain settings; returns (and installs) the new settings."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InputError(f"these settings cannot be changed here: {', '.join(sorted(unknown))}")
    probe = create_model(  # the same field rules as at start
        "SettingsChange",
        **{k: (Settings.model_fields[k].annotation, Settings.model_fields[k]) for k in changes},  # type: ignore[call-overload]
    )
    try:
        checked = probe(**changes).model_dump()
    except ValidationError as err:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in err.errors())
        raise InputError(f"invalid settings: {problems}") from None
    changes = {k: checked[k] for k in changes}
    await asyncio.to_thread(_write_config, config_file_path(), changes)
    fresh = load_settings()
    ctx.settings = fresh.model_copy(
        update={k: getattr(ctx.settings, k) for k in (*API_KEYS, "database_url", "github_token")}
    )
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action="settings.changed", resource_type="settings",
        details={"keys": sorted(changes)},
    )  # fmt: skip
    return ctx.settings


async def save_api_key(ctx: AppContext, name: str, value: str) -> None:
    """Store a provider key encrypted; it applies at once and at every later start."""
    if name not in API_KEYS:
        raise InputError(f"unknown key {name!r}")
    value = value.strip()
    if not value or any(c.isspace() for c in value) or len(value) > 500:
        raise InputError(
            "that does not look like an API key", hint="paste the whole key, nothing else"
        )
    box = await open_secret_box(ctx.settings.paths.key_file)
    register_secret(value)
    await users.update_preferences(
        ctx.db.pool, ctx.user.id, {f"{name}_encrypted": box.encrypt(value)}
    )
    ctx.settings = ctx.settings.model_copy(update={name: SecretStr(value)})
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action=f"{name}.added", resource_type="user",
        resource_id=str(ctx.user.id), details={"key_location": box.location},
    )  # fmt: skip


async def remove_api_key(ctx: AppContext, name: str) -> None:
    if name not in API_KEYS:
        raise InputError(f"unknown key {name!r}")
    await users.update_preferences(ctx.db.pool, ctx.user.id, {f"{name}_encrypted": None})
    ctx.settings = ctx.settings.model_copy(update={name: None})
    await audit.record(
        ctx.db.pool, user_id=ctx.user.id, action=f"{name}.removed", resource_type="user",
        resource_id=str(ctx.user.id),
    )  # fmt: skip


async def apply_stored_keys(ctx: AppContext) -> None:
    """At start: keys stored encrypted fill in the ones the environment does not set."""
    prefs = ctx.user.preferences
    wanted: dict[str, str] = {}
    for name in API_KEYS:
        stored = prefs.get(f"{name}_encrypted")
        if getattr(ctx.settings, name) is None and isinstance(stored, str) and stored:
            wanted[name] = stored
    if not wanted:
        return
    box = await open_secret_box(ctx.settings.paths.key_file)
    update: dict[str, Any] = {}
    for name, token in wanted.items():
        value = box.decrypt(token)
        register_secret(value)
        update[name] = SecretStr(value)
    ctx.settings = ctx.settings.model_copy(update=update)


def masked(secret: SecretStr | None) -> str:
    """`sk-ant-…a1b2` style: enough to recognise a key, never enough to use it."""
    if secret is None:
        return "not set"
    value = secret.get_secret_value()
    return f"{value[:6]}…{value[-4:]}" if len(value) > 14 else "set (hidden)"
