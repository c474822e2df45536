"""AI models and their prices (seeded, editable from settings)."""

from __future__ import annotations

from decimal import Decimal

from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.rows import many, one
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import AIModel

_COLUMNS = """id, name, provider, display_name, input_price, output_price, cache_read_price,
    cache_write_price, context_window, max_output, capabilities, base_url, active"""


async def list_models(db: Executor, *, active_only: bool = True) -> list[AIModel]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM ai_models WHERE active OR NOT $1 ORDER BY provider, name",
        active_only,
    )
    return many(AIModel, rows)


async def find_model(db: Executor, name: str) -> AIModel | None:
    return one(
        AIModel, await db.fetchrow(f"SELECT {_COLUMNS} FROM ai_models WHERE name = $1", name)
    )


async def get_model(db: Executor, name: str) -> AIModel:
    model = await find_model(db, name)
    if model is None:
        raise NotFoundError(
            f"unknown model {name!r}", hint="`asynccoder model list` shows the models you can use"
        )
    return model


async def upsert_model(
    db: Executor,
    *,
    name: str,
    provider: str,
    display_name: str,
    input_price: Decimal,
    output_price: Decimal,
    cache_read_price: Decimal = Decimal(0),
    cache_write_price: Decimal = Decimal(0),
    context_window: int = 128_000,
    max_output: int = 8_192,
    base_url: str | None = None,
    active: bool = True,
) -> AIModel:
    row = await db.fetchrow(
        f"""INSERT INTO ai_models (name, provider, display_name, input_price, output_price,
                cache_read_price, cache_write_price, context_window, max_output, base_url, active)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (name) DO UPDATE SET provider = EXCLUDED.provider,
                display_name = EXCLUDED.display_name, input_price = EXCLUDED.input_price,
                output_price = EXCLUDED.output_price,
                cache_read_price = EXCLUDED.cache_read_price,
                cache_write_price = EXCLUDED.cache_write_price,
                context_window = EXCLUDED.context_window, max_output = EXCLUDED.max_output,
                base_url = EXCLUDED.base_url, active = EXCLUDED.active
            RETURNING {_COLUMNS}""",
        name,
        provider,
        display_name,
        input_price,
        output_price,
        cache_read_price,
        cache_write_price,
        context_window,
        max_output,
        base_url,
        active,
    )
    model = one(AIModel, row)
    if model is None:  # pragma: no cover - RETURNING always yields a row
        raise NotFoundError(f"model {name} not saved")
    return model


# Columns `update_model` may change; the service validates the values first.
EDITABLE_COLUMNS = frozenset({
    "display_name", "input_price", "output_price", "cache_read_price", "cache_write_price",
    "context_window", "max_output", "base_url", "active",
})  # fmt: skip


async def update_model(db: Executor, name: str, changes: dict[str, object]) -> AIModel:
    """Set the given columns of one model; unknown columns are a programming error."""
    unknown = set(changes) - EDITABLE_COLUMNS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    columns = sorted(changes)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    row = await db.fetchrow(
        f"UPDATE ai_models SET {assignments} WHERE name = $1 RETURNING {_COLUMNS}"
        if columns
        else f"SELECT {_COLUMNS} FROM ai_models WHERE name = $1",
        name,
        *(changes[c] for c in columns),
    )
    model = one(AIModel, row)
    if model is None:
        raise NotFoundError(
            f"unknown model {name!r}", hint="`asynccoder model list --all` shows every model"
        )
    return model


async def insert_model(
    db: Executor,
    *,
    name: str,
    provider: str,
    display_name: str,
    input_price: Decimal,
    output_price: Decimal,
    cache_read_price: Decimal,
    cache_write_price: Decimal,
    context_window: int,
    max_output: int,
    base_url: str | None,
    capabilities: list[str],
) -> AIModel | None:
    """A new model; None when one of that name exists already (names are unique)."""
    row = await db.fetchrow(
        f"""INSERT INTO ai_models (name, provider, display_name, input_price, output_price,
                cache_read_price, cache_write_price, context_window, max_output, base_url,
                capabilities)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (name) DO NOTHING
            RETURNING {_COLUMNS}""",
        name,
        provider,
        display_name,
        input_price,
        output_price,
        cache_read_price,
        cache_write_price,
        context_window,
        max_output,
        base_url,
        capabilities,
    )
    return one(AIModel, row)
