"""Models and their prices, for the new-task form, settings and `asynccoder model ...`.

Prices are US dollars per million tokens. Every change is validated here (non-negative
decimals that fit the column, a known provider, a unique name, an http(s) base URL), saved in
one transaction with an audit row that says what changed from what to what, and takes effect
for the next run (the runner reads the model's row when a run starts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from asynccoder_tui.db import ai_models, audit
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.domain.models import AIModel
from asynccoder_tui.services.context import AppContext

PRICE_FIELDS = ("input_price", "output_price", "cache_read_price", "cache_write_price")
PRICE_LABELS = {
    "input_price": "input price",
    "output_price": "output price",
    "cache_read_price": "cache read price",
    "cache_write_price": "cache write price",
}
# The providers a person may add a model for (`scripted` is the offline test double).
ADDABLE_PROVIDERS = (ProviderKind.ANTHROPIC, ProviderKind.OPENAI, ProviderKind.OPENAI_COMPATIBLE)
MAX_PRICE = Decimal("999999")  # numeric(12, 6)
MAX_TOKENS = 100_000_000


async def list_models(ctx: AppContext, *, active_only: bool = True) -> list[AIModel]:
    return await ai_models.list_models(ctx.db.pool, active_only=active_only)


def parse_price(value: object, what: str = "price") -> Decimal:
    """A price per million tokens: a non-negative decimal with at most six decimal places."""
    text = str(value).strip().removeprefix("$").strip()
    if not text:
        raise InputError(f"the {what} is empty", hint="enter a number such as 3 or 0.25")
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise InputError(
            f"the {what} {text[:40]!r} is not a number", hint="enter a number such as 3 or 0.25"
        ) from None
    if not price.is_finite():
        raise InputError(f"the {what} must be a finite number")
    if price < 0:
        raise InputError(f"the {what} cannot be negative")
    if price > MAX_PRICE:
        raise InputError(f"the {what} is too large (at most {MAX_PRICE} per million tokens)")
    exponent = price.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise InputError(f"the {what} has more than six decimal places")
    return price


def parse_tokens(value: object, what: str) -> int:
    text = str(value).strip().replace(",", "").replace("_", "")
    try:
        number = int(text)
    except ValueError:
        raise InputError(f"the {what} {text[:40]!r} is not a whole number") from None
    if not 0 < number <= MAX_TOKENS:
        raise InputError(f"the {what} must be between 1 and {MAX_TOKENS:,} tokens")
    return number


def parse_provider(value: object) -> ProviderKind:
    text = str(value).strip().lower().replace("-", "_")
    for kind in ADDABLE_PROVIDERS:
        if kind.value == text:
            return kind
    names = ", ".join(k.value.replace("_", "-") for k in ADDABLE_PROVIDERS)
    raise InputError(f"unknown provider {str(value)[:40]!r}", hint=f"one of {names}")


def parse_base_url(value: object) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:  # a malformed address (an unclosed `[`, a bad port)
        parts, host = None, None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not host
        or len(text) > 2000
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise InputError(
            f"the base URL {text[:80]!r} is not an http(s) address",
            hint="for example http://localhost:11434/v1",
        )
    if parts.username or parts.password:
        raise InputError("the base URL must not hold a user name or password")
    return text


def parse_name(value: object) -> str:
    text = str(value).strip()
    if not text:
        raise InputError("the model name is empty", hint="the provider's id, e.g. llama3.1:8b")
    if len(text) > 200 or any(c.isspace() or not c.isprintable() for c in text):
        raise InputError(
            "the model name must be at most 200 characters with no spaces or control characters"
        )
    return text


def _display(value: object) -> str:
    text = str(value).strip()
    if len(text) > 200 or any(not c.isprintable() for c in text):
        raise InputError("the display name must be at most 200 printable characters")
    return text


@dataclass(frozen=True)
class NewModel:
    """What a person enters to add a model (as typed; `add_model` validates it)."""

    provider: str
    name: str
    input_price: object
    output_price: object
    cache_read_price: object = "0"
    cache_write_price: object = "0"
    display_name: str = ""
    base_url: str | None = None
    context_window: object = 128_000
    max_output: object = 8_192
    capabilities: list[str] = field(default_factory=lambda: ["tools"])


def check_changes(current: AIModel, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate an edit of `current`; returns only the fields whose value really changes."""
    checked: dict[str, Any] = {}
    for key, value in changes.items():
        if key in PRICE_FIELDS:
            checked[key] = parse_price(value, PRICE_LABELS[key])
        elif key in {"context_window", "max_output"}:
            checked[key] = parse_tokens(value, key.replace("_", " "))
        elif key == "base_url":
            checked[key] = parse_base_url(value)
        elif key == "display_name":
            checked[key] = _display(value) or current.name
        elif key == "active":
            if not isinstance(value, bool):
                raise InputError("enabled must be true or false")
            checked[key] = value
        else:
            raise InputError(f"{key} cannot be changed here")
    if (
        current.provider is ProviderKind.OPENAI_COMPATIBLE
        and "base_url" in checked
        and checked["base_url"] is None
    ):
        raise InputError("an openai-compatible model needs its base URL")
    return {k: v for k, v in checked.items() if getattr(current, k) != v}


def _change_details(before: AIModel, changes: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {"from": _plain(getattr(before, k)), "to": _plain(v)} for k, v in sorted(changes.items())
    }


def _plain(value: object) -> object:
    return f"{value:f}" if isinstance(value, Decimal) else value


async def update_model(ctx: AppContext, name: str, changes: dict[str, Any]) -> AIModel:
    """Validate and save an edit of one model (prices, limits, base URL, enabled), audited."""
    async with transaction(ctx.db.pool) as conn:
        current = await ai_models.get_model(conn, name)
        checked = check_changes(current, changes)
        if not checked:
            return current
        saved = await ai_models.update_model(conn, name, checked)
        await audit.record(
            conn, user_id=ctx.user.id, action="ai_model.changed", resource_type="ai_model",
            resource_id=name, details={"changes": _change_details(current, checked)},
        )  # fmt: skip
    return saved


async def set_price(
    ctx: AppContext,
    name: str,
    *,
    input_price: object = None,
    output_price: object = None,
    cache_read_price: object = None,
    cache_write_price: object = None,
) -> AIModel:
    given = {
        "input_price": input_price,
        "output_price": output_price,
        "cache_read_price": cache_read_price,
        "cache_write_price": cache_write_price,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise InputError("give at least one price", hint="--input, --output, --cache-read")
    return await update_model(ctx, name, changes)


async def set_enabled(ctx: AppContext, name: str, enabled: bool) -> AIModel:
    return await update_model(ctx, name, {"active": enabled})


async def add_model(ctx: AppContext, new: NewModel) -> AIModel:
    """Validate and add a model; a name already taken is refused, not overwritten."""
    provider = parse_provider(new.provider)
    name = parse_name(new.name)
    base_url = parse_base_url(new.base_url)
    if provider is ProviderKind.OPENAI_COMPATIBLE and base_url is None:
        raise InputError(
            "an openai-compatible model needs its base URL",
            hint="the server's address, e.g. http://localhost:11434/v1 for Ollama",
        )
    values: dict[str, Any] = {
        "name": name,
        "provider": provider.value,
        "display_name": _display(new.display_name) or name,
        **{k: parse_price(getattr(new, k), PRICE_LABELS[k]) for k in PRICE_FIELDS},
        "context_window": parse_tokens(new.context_window, "context window"),
        "max_output": parse_tokens(new.max_output, "max output"),
        "base_url": base_url,
        "capabilities": list(new.capabilities),
    }
    async with transaction(ctx.db.pool) as conn:
        model = await ai_models.insert_model(conn, **values)
        if model is None:
            raise ConflictError(
                f"a model named {name!r} exists already", hint="edit it instead, or pick a new name"
            )
        await audit.record(
            conn, user_id=ctx.user.id, action="ai_model.added", resource_type="ai_model",
            resource_id=name, details={k: _plain(v) for k, v in values.items() if k != "name"},
        )  # fmt: skip
    return model
