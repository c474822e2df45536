"""The embedded PostgreSQL server (package `pgserver`), used when no `DATABASE_URL` is set.

Rules, as documented in README.md ("The embedded database"):
- The data directory is `<data dir>/pgdata`; the server listens on a Unix socket only.
- Every asynccoder process that uses it registers its pid in the server's handle list; a
  second process reuses the running server instead of starting another.
- When the last registered process exits, the server is stopped, unless `keep_db_running`
  is set (then it stays up for faster starts and `asynccoder db stop` stops it).
- Handles of processes that died without cleaning up (kill -9) are pruned before each start,
  so a stale handle never keeps a server alive forever; a stale `postmaster.pid` left by a
  killed server is handled by PostgreSQL's own start-up check.

Starting is blocking (it may run initdb): call `start_embedded` from a thread.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asynccoder_tui.domain.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

APP_DATABASE = "asynccoder"
HANDLE_FILE = ".handle_pids.json"


@dataclass
class EmbeddedServer:
    """A started embedded server and the URL of the app's database on it."""

    pgdata: Path
    admin_url: str
    server: Any

    def url(self, database: str = APP_DATABASE) -> str:
        return str(self.server.get_uri(database))

    def stop(self) -> None:
        """Stop the server now, whoever else uses it (for `asynccoder db stop`)."""
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "stop"], pgdata=self.pgdata, user=self.server.system_user)

    def revive(self) -> None:
        """Start the server again if it was stopped under this process (`db stop --force`).

        Blocking: call from a thread. This process stays registered, so the server still stops
        when its last user exits.
        """
        from pgserver.postgres_server import PostgresServer

        with PostgresServer._lock:
            self.server.ensure_postgres_running()
            self.server.global_process_id_list.get_and_add(os.getpid())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the handle list; return the dead ones."""
    path = pgdata / HANDLE_FILE
    try:
        pids = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        log.warning(
            "embedded database handle list unreadable, resetting it", extra={"path": str(path)}
        )
        path.write_text("[]")
        return []
    alive = [p for p in pids if isinstance(p, int) and _pid_alive(p)]
    dead = [p for p in pids if p not in alive]
    if dead:
        path.write_text(json.dumps(alive))
    return dead


def live_handles(pgdata: Path) -> list[int]:
    try:
        pids = json.loads((pgdata / HANDLE_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [p for p in pids if isinstance(p, int) and _pid_alive(p)]


def start_embedded(pgdata: Path, *, keep_running: bool = False) -> EmbeddedServer:
    """Start (or join) the embedded server in `pgdata` and make sure the app database exists."""
    try:
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime dir at import; the fallback is fine.
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver.postgres_server import PostgresServer
    except ImportError as err:  # pragma: no cover - pgserver is a hard dependency
        raise DatabaseUnavailableError(
            "the embedded PostgreSQL package (pgserver) is not installed",
            hint="reinstall asynccoder, or set DATABASE_URL to a PostgreSQL server",
        ) from err

    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        with PostgresServer._lock:
            dead = prune_dead_handles(pgdata)
        if dead:
            log.info("pruned stale embedded database handles", extra={"pids": dead})
        server = pgserver.get_server(pgdata, cleanup_mode=None if keep_running else "stop")
        admin_url = str(server.get_uri())
        _ensure_database(server, APP_DATABASE)
    except DatabaseUnavailableError:
        raise
    except Exception as err:
        logfile = pgdata / "log"
        raise DatabaseUnavailableError(
            f"cannot start the embedded PostgreSQL in {pgdata}: {type(err).__name__}: {err}",
            hint=f"see {logfile}, or set DATABASE_URL to use another server",
        ) from err
    return EmbeddedServer(pgdata=pgdata, admin_url=admin_url, server=server)


def _ensure_database(server: Any, name: str) -> None:
    out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in out:
        try:
            server.psql(f'CREATE DATABASE "{name}";')
        except Exception:
            # Another process may have created it at the same moment; check again.
            out = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
            if "(1 row)" not in out:
                raise
