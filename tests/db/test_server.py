"""The embedded server: starts, is shared by a second process, survives stale handles and pids."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from asynccoder_tui.db.server import HANDLE_FILE, live_handles, prune_dead_handles

START = textwrap.dedent(
    """
    import sys, time, os
    from pathlib import Path
    from asynccoder_tui.db.server import start_embedded
    srv = start_embedded(Path(sys.argv[1]))
    print(srv.server.get_pid(), srv.url(), flush=True)
    if len(sys.argv) > 2:
        time.sleep(float(sys.argv[2]))
    """
)


def _start(pgdata: Path, hold: float | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", START, str(pgdata)]
    if hold is not None:
        argv.append(str(hold))
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float = 15) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_second_process_reuses_server_and_last_one_stops_it(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    first = _start(pgdata, hold=6)
    line = first.stdout.readline().split()
    assert line, first.stderr.read()
    pid = int(line[0])
    second = _start(pgdata)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert int(out.split()[0]) == pid, "the second process started another server"
    assert _alive(pid), "the second process stopped a server the first still uses"
    first.communicate(timeout=60)
    assert _wait_gone(pid), "the server kept running after its last user exited"


@pytest.mark.slow
def test_killed_user_leaves_a_stale_handle_that_is_pruned(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    holder = _start(pgdata, hold=60)
    pid = int(holder.stdout.readline().split()[0])
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert holder.pid in json.loads((pgdata / HANDLE_FILE).read_text())
    # The next user prunes the dead handle, shares the server, and stops it on exit.
    nxt = _start(pgdata)
    out, err = nxt.communicate(timeout=60)
    assert nxt.returncode == 0, err
    assert int(out.split()[0]) == pid
    assert holder.pid not in live_handles(pgdata)
    assert _wait_gone(pid)


@pytest.mark.slow
def test_server_killed_with_sigkill_restarts_over_stale_pid_file(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    holder = _start(pgdata, hold=60)
    pid = int(holder.stdout.readline().split()[0])
    os.kill(pid, signal.SIGKILL)
    assert _wait_gone(pid)
    holder.kill()
    holder.wait()
    assert _postmaster_pid(pgdata) == pid, "expected a stale postmaster.pid"
    again = _start(pgdata)
    out, err = again.communicate(timeout=90)
    assert again.returncode == 0, err
    new_pid = int(out.split()[0])
    assert new_pid != pid
    assert _wait_gone(new_pid)


def test_prune_dead_handles_keeps_live_ones(tmp_path: Path) -> None:
    (tmp_path / HANDLE_FILE).write_text(json.dumps([os.getpid(), 999_999_999]))
    assert prune_dead_handles(tmp_path) == [999_999_999]
    assert json.loads((tmp_path / HANDLE_FILE).read_text()) == [os.getpid()]


def test_prune_resets_a_corrupt_handle_list(tmp_path: Path) -> None:
    (tmp_path / HANDLE_FILE).write_text("{not json")
    assert prune_dead_handles(tmp_path) == []
    assert json.loads((tmp_path / HANDLE_FILE).read_text()) == []


REVIVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from asynccoder_tui.db.server import start_embedded
    srv = start_embedded(Path(sys.argv[1]))
    first = srv.server.get_pid()
    srv.stop()  # what `asynccoder db stop --force` does from another process
    srv.revive()
    print(first, srv.server.get_pid(), srv.url(), flush=True)
    """
)


@pytest.mark.slow
def test_a_user_revives_the_server_stopped_under_it(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    proc = subprocess.run(
        [sys.executable, "-c", REVIVE, str(pgdata)], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr
    first, second, _url = proc.stdout.split()
    assert first != second, "revive did not start the server again"
    assert _wait_gone(int(second)), "the revived server kept running after its last user exited"
