"""Fixtures of the reliability suite: the engine tests' context and repositories, and the rule
that `@pytest.mark.slow` rounds here run only when asked for (`-m slow`, or
`RELIABILITY_SLOW=1`); `bench/reliability.py` runs the full rounds and prints the figures.

tiktoken never downloads here: token counts use the documented offline estimate.
"""

from __future__ import annotations

import os

os.environ.setdefault("ASYNCCODER_TIKTOKEN_DOWNLOAD", "0")

import pytest

from tests.engine.conftest import ctx, make_repo, settings

__all__ = ["ctx", "make_repo", "settings"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = "slow" in (config.getoption("markexpr", "") or "")
    if wanted or os.environ.get("RELIABILITY_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="full round: run with -m slow or bench/reliability.py")
    here = os.path.dirname(__file__)
    for item in items:
        if "slow" in item.keywords and str(item.fspath).startswith(here):
            item.add_marker(skip)
