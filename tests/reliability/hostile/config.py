"""Hostile configuration: config files that are not TOML, not UTF-8, not files, nested past
any sense, or hold values of the wrong type or out of range; and environment variables of the
same kinds. Every one must be a `ConfigError` naming the file or the setting, never a
traceback; unknown keys and a byte-order mark are accepted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from asynccoder_tui.config import load_settings
from tests.reliability.harness import environment
from tests.reliability.hostile import OK, Case, NoHarm


def _file(text: str | bytes) -> tuple[str, str | bytes]:
    return ("file", text)


INVALID = "invalid settings"
CASES = [
    Case("not TOML", _file("a = "), "cannot read config file"),
    Case("unclosed string", _file('default_model = "claude'), "cannot read config file"),
    Case("binary garbage", _file(os.urandom(256) + b"\xff\xfe"), "cannot read config file"),
    Case("NUL bytes", _file(b"theme = \"a\x00b\"\n"), "cannot read config file"),
    Case("nested 100,000 deep", _file("a = " + "[" * 100_000 + "]" * 100_000), "nests too deeply"),
    Case("byte-order mark", _file(b"\xef\xbb\xbfworker_concurrency = 3\n"), OK),
    Case("unknown keys", _file("no_such_setting = 1\n[no_such_table]\nx = 2\n"), OK),
    Case("5 MB of comments", _file("# " + "x" * 5_000_000 + "\n"), OK),
    Case("concurrency is text", _file('worker_concurrency = "many"'), "worker_concurrency"),
    Case("concurrency negative", _file("worker_concurrency = -1"), "worker_concurrency"),
    Case("concurrency too high", _file("worker_concurrency = 100000"), "worker_concurrency"),
    Case("concurrency as a float", _file("worker_concurrency = 2.5"), "worker_concurrency"),
    Case("lease too short", _file("lease_seconds = 1"), "lease_seconds"),
    Case("unknown sandbox", _file('sandbox = "yolo"'), "sandbox"),
    Case("sandbox with a command", _file('sandbox = "none; rm -rf /"'), "sandbox"),
    Case("cost is text", _file('task_max_cost = "lots"'), "task_max_cost"),
    Case("cost negative", _file("task_max_cost = -5"), "task_max_cost"),
    Case("no credits per dollar", _file("credits_per_usd = 0"), "credits_per_usd"),
    Case("keybindings not a table", _file('keybindings = "x"'), "keybindings"),
    Case("keybinding not text", _file("keybindings = { quit = 5 }"), "keybindings"),
    Case("theme not text", _file("theme = 5"), "theme"),
    Case("database URL not text", _file("database_url = 5"), "database_url"),
    Case("steps of a huge number", _file("task_max_steps = 1" + "0" * 400), "task_max_steps"),
    Case("a folder", ("path", "/tmp"), "not a regular file"),
    Case("a FIFO", ("fifo", None), "not a regular file"),
    Case("a device", ("path", "/dev/zero"), "not a regular file"),
    Case("/dev/null means none", ("path", "/dev/null"), OK),
    Case("missing file means none", ("path", "/nonexistent/asynccoder.toml"), OK),
    Case("env: concurrency is text", ("env", {"ASYNCCODER_WORKER_CONCURRENCY": "abc"}), "worker_concurrency"),
    Case("env: sandbox with a command", ("env", {"ASYNCCODER_SANDBOX": "none; rm -rf /"}), "sandbox"),
    Case("env: lease of 10^30", ("env", {"ASYNCCODER_LEASE_SECONDS": "1" + "0" * 30}), "lease_seconds"),
    Case("env: keybindings not JSON", ("env", {"ASYNCCODER_KEYBINDINGS": "{not json"}), ("keybindings", "settings")),
    Case("env: cost NaN", ("env", {"ASYNCCODER_TASK_MAX_COST": "NaN"}), "task_max_cost"),
    Case("env: cost infinite", ("env", {"ASYNCCODER_TASK_MAX_COST": "Infinity"}), "task_max_cost"),
]  # fmt: skip


class ConfigRunner(NoHarm):
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.count = 0

    async def attempt(self, case: Case) -> str:
        kind, value = case.value
        self.count += 1
        path = self.workdir / f"config-{self.count}.toml"
        env: dict[str, str | None] = {}
        if kind == "file":
            path.write_bytes(value if isinstance(value, bytes) else value.encode())
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "path":
            path = Path(value)
        else:
            env = dict(value)
            path.write_text("")
        with environment(ASYNCCODER_CONFIG=str(path), **env):
            settings = load_settings()
        return f"worker_concurrency={settings.worker_concurrency}"


class ConfigGroup:
    name = "config"
    cases = CASES

    @contextlib.asynccontextmanager
    async def open(self, db_url: str, workdir: Path) -> AsyncIterator[Any]:
        yield ConfigRunner(workdir)


GROUP = ConfigGroup()
