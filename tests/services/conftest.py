"""Service tests share the engine tests' repository fixture."""

from __future__ import annotations

from tests.engine.conftest import make_repo

__all__ = ["make_repo"]
