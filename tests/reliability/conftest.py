"""Fixtures of the reliability suite: the engine tests' context and repositories, and the rule
that `@pytest.mark.slow` rounds here run only when asked for (`-m slow`, or
`RELIABILITY_SLOW=1`); `bench/reliability.py` runs the full rounds and prints the figures.

tiktoken never downloads here: token counts use the documented offline estimate.
"""

from __future__ import annotations

import os

os.environ.setdefault("ASYNCCODER_TIKTOKEN_DOWNLOAD", "0")

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

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


@pytest.fixture(scope="module")
def group_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder, `ASYNCCODER_HOME` and config of this module's own (a hostile group's)."""
    folder = tmp_path_factory.mktemp("group")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASYNCCODER_HOME", str(folder / "home"))
        patch.setenv("ASYNCCODER_CONFIG", str(folder / "config.toml"))
        yield folder


@pytest_asyncio.fixture(scope="module")
async def group_db_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh migrated database shared by the cases of one module."""
    from tests.conftest import _create_db, _drop_db, with_database

    name = await _create_db(pg_admin_url, template_db)
    yield with_database(pg_admin_url, name)
    await _drop_db(pg_admin_url, name)
