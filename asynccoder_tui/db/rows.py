"""Turning asyncpg records into domain models (shared by every data-access module)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import asyncpg
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def one(model: type[M], row: asyncpg.Record | None) -> M | None:
    return None if row is None else model.model_validate(dict(row))


def many(model: type[M], rows: Iterable[asyncpg.Record]) -> list[M]:
    return [model.model_validate(dict(r)) for r in rows]
