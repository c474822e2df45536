"""Shared fixtures: a real PostgreSQL (embedded, or `DATABASE_URL`), fresh databases, isolation.

One server for the whole run; the schema is migrated once into a template database, and every
test that asks for `db_url` gets its own database cloned from it (fast, fully isolated).
Nothing reads the developer's own config or data: `ASYNCCODER_HOME` and `ASYNCCODER_CONFIG`
point into a temporary folder for the whole session.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="asynccoder-test-"))
os.environ["ASYNCCODER_HOME"] = str(_SESSION_HOME / "home")
os.environ["ASYNCCODER_CONFIG"] = str(_SESSION_HOME / "config.toml")
for _name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN"):
    os.environ.pop(_name, None)
_EXTERNAL_URL = os.environ.pop("DATABASE_URL", None)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server the tests may create databases on."""
    if _EXTERNAL_URL:
        yield _EXTERNAL_URL
        return
    from asynccoder_tui.db.server import start_embedded

    server = start_embedded(_SESSION_HOME / "pgdata")
    yield server.url("postgres")
    # pgserver stops the server when this process exits (last handle).


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> str:
    """Name of a database with every migration applied, cloned by `db_url`."""
    name = f"asynccoder_tmpl_{uuid.uuid4().hex[:10]}"

    async def build() -> None:
        from asynccoder_tui.db.migrate import apply_migrations
        from asynccoder_tui.db.pool import create_pool

        admin = await asyncpg.connect(pg_admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        pool = await create_pool(with_database(pg_admin_url, name), max_size=2)
        try:
            await apply_migrations(pool)
        finally:
            await pool.close()

    asyncio.run(build())
    return name


async def _create_db(admin_url: str, template: str | None) -> str:
    name = f"asynccoder_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await admin.close()
    return name


async def _drop_db(admin_url: str, name: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def empty_db_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A brand-new database with no schema at all."""
    name = await _create_db(pg_admin_url, None)
    yield with_database(pg_admin_url, name)
    await _drop_db(pg_admin_url, name)


@pytest_asyncio.fixture
async def db_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database of this test's own."""
    name = await _create_db(pg_admin_url, template_db)
    yield with_database(pg_admin_url, name)
    await _drop_db(pg_admin_url, name)


@pytest_asyncio.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    from asynccoder_tui.db.pool import create_pool

    p = await create_pool(db_url, max_size=10)
    yield p
    await p.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ASYNCCODER_HOME and config file of this test's own."""
    monkeypatch.setenv("ASYNCCODER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASYNCCODER_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path
