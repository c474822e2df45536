"""Secrets, end to end: a full run with known fake secrets, then a scan for them everywhere.

The run is the product as a person uses it, through `asynccoder` command processes: an
Anthropic key in the environment, an OpenAI key pasted in settings (stored encrypted), a GitHub
token in the environment and pasted in settings; a repository added, a task on each provider
(`--wait`, so the command runs it), the transcript shown, usage, doctor, the pull request
pushed and opened, the GitHub repositories synced. The model is hostile: it streams back the
API key it was called with, has the agent print the environment and `/proc/self/environ`,
write the key into a file and put it in its summary.

While it runs, every process's command line is sampled (`/proc/*/cmdline`). Afterwards no
secret may appear in: those command lines; the commands' output; any file under the home
folder (the JSON logs in the state folder, workspaces, records, caches); any row of any table
(`task_events` and `audit_logs` included); the pushed git objects. The tokens stored in the
database must be ciphertext that decrypts to them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets as random_secrets
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from asynccoder_tui.db import ai_models, repositories
from asynccoder_tui.services import github as github_service
from asynccoder_tui.services import settings as settings_service
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.secrets import open_secret_box
from tests.reliability.harness import git, make_repository, quick_settings, top_up
from tests.reliability.model_server import ModelServer, Request
from tests.support.github import TOKEN as GITHUB_TOKEN
from tests.support.github import FakeGitHub

REPO_ROOT = Path(__file__).resolve().parents[2]


def fake_secrets() -> dict[str, str]:
    nonce = random_secrets.token_hex(8)
    return {
        "ANTHROPIC_API_KEY": f"sk-ant-api03-SecretScan{nonce}AnthropicKey",
        "OPENAI_API_KEY": f"sk-proj-SecretScan{nonce}OpenAIKey00",
        "GITHUB_TOKEN": GITHUB_TOKEN,
    }


class LeakyModel(ModelServer):
    """A model that tries to make the agent leak the key it was called with."""

    def plan_for(
        self, handler: BaseHTTPRequestHandler, rec: Request
    ) -> tuple[str, str, dict[str, Any]]:
        key = handler.headers.get("x-api-key") or handler.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if rec.step == 1:
            return (f"My key is {key}. ", "create",
                    {"path": f"leak-{rec.tag}.txt", "content": f"key={key}\n"})  # fmt: skip
        if rec.step == 2:
            command = (f"echo {key}; env; cat /proc/self/environ | tr '\\0' '\\n'; "
                       "echo A=$ANTHROPIC_API_KEY O=$OPENAI_API_KEY G=$GITHUB_TOKEN")  # fmt: skip
            return "Looking at the environment. ", "run", {"command": command}
        return "Done. ", "finish", {"summary": f"done {rec.tag} with {key}"}


@dataclass
class SecretsReport:
    secrets: int = 0
    commands: int = 0
    cmdlines_sampled: int = 0
    files_scanned: int = 0
    log_lines: int = 0
    rows_scanned: int = 0
    objects_scanned: int = 0
    leaks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"secrets: {self.secrets} fake secrets through {self.commands} commands; scanned "
            f"{self.cmdlines_sampled} command-line samples, {self.files_scanned} files "
            f"({self.log_lines} log lines), "
            f"{self.rows_scanned} database rows, {self.objects_scanned} pushed git objects: "
            f"{len(self.leaks)} leaks, {len(self.problems)} other problems"
        )


def _needles(values: dict[str, str]) -> dict[str, bytes]:
    """Each secret and the encodings it could hide in (base64 of git's basic auth, hex)."""
    found: dict[str, bytes] = {}
    for name, value in values.items():
        found[name] = value.encode()
        found[f"{name} (base64 basic auth)"] = base64.b64encode(f"x-access-token:{value}".encode())
        found[f"{name} (hex)"] = value.encode().hex().encode()
    return found


def _scan(data: bytes, needles: dict[str, bytes], where: str, report: SecretsReport) -> None:
    for name, needle in needles.items():
        if needle in data:
            report.leaks.append(f"{name} in {where}")


class _CmdlineSampler:
    def __init__(self, needles: dict[str, bytes], report: SecretsReport) -> None:
        self.needles = needles
        self.report = report
        self.stop = asyncio.Event()
        self.seen: set[tuple[int, bytes]] = set()

    def _sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    line = handle.read()
            except OSError:
                continue
            key = (int(entry), line)
            if key in self.seen:
                continue
            self.seen.add(key)
            _scan(
                line,
                self.needles,
                f"the command line of process {entry}: {line[:120]!r}",
                self.report,
            )
        self.report.cmdlines_sampled += 1

    async def run(self) -> None:
        while not self.stop.is_set():
            await asyncio.to_thread(self._sample)
            await asyncio.sleep(0.02)


async def _cli(env: dict[str, str], *argv: str, timeout: float = 180) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asynccoder_tui", *argv, env=env, cwd=str(REPO_ROOT),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, out.decode("utf-8", "replace")


async def secrets_round(db_url: str, workdir: Path) -> SecretsReport:
    values = fake_secrets()
    needles = _needles(values)
    report = SecretsReport(secrets=len(values))
    home = workdir / "home"
    config = workdir / "config.toml"
    model = LeakyModel(fault_rate=0.0)
    github = FakeGitHub()
    github.add_repo("acme/widgets")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ASYNCCODER")},
        "ASYNCCODER_HOME": str(home), "ASYNCCODER_CONFIG": str(config),
        "ASYNCCODER_TIKTOKEN_DOWNLOAD": "0", "DATABASE_URL": db_url,
        "ASYNCCODER_GITHUB_API_URL": github.url, "ASYNCCODER_USE_GH_CLI_TOKEN": "false",
        "ANTHROPIC_API_KEY": values["ANTHROPIC_API_KEY"], "GITHUB_TOKEN": values["GITHUB_TOKEN"],
        "PYTHONPATH": str(REPO_ROOT),
    }  # fmt: skip
    env.pop("OPENAI_API_KEY", None)
    sampler = _CmdlineSampler(needles, report)
    sampling = asyncio.create_task(sampler.run())
    outputs: list[str] = []
    try:
        root = make_repository(workdir / "widgets", {"README.md": "# Widgets\n"})
        origin = workdir / "origin.git"
        git(workdir, "clone", "-q", "--bare", str(root), str(origin))
        git(root, "remote", "add", "origin", str(origin))
        await _prepare(db_url, home, config, values, model, root)

        async def cli(*argv: str) -> str:
            code, out = await _cli(env, *argv)
            report.commands += 1
            outputs.append(out)
            if code != 0 and argv[0] != "doctor":
                report.problems.append(
                    f"asynccoder {' '.join(argv)[:80]} exited {code}: {out[-300:]}"
                )
            return out

        await cli("repo", "add", str(root))
        await _set_github_name(db_url, root)
        for tag, name in (("s1", "sec-claude"), ("s2", "sec-gpt")):
            await cli("task", "submit", "--repo", str(root), "--model", name, "--wait",
                      f"[task {tag}] Write the notes and record the run.")  # fmt: skip
        listing = await cli("task", "list", "--json")
        try:
            ids = [task["id"] for task in json.loads(listing)]
        except ValueError:
            ids = []
            report.problems.append(f"task list --json printed no JSON: {listing[-200:]}")
        for task_id in ids:
            await cli("task", "show", task_id, "--events")
        await cli("usage")
        await cli("doctor")
        if ids:
            await cli("task", "pr", ids[0])
        await cli("repo", "sync")
    finally:
        sampler.stop.set()
        await sampling
        model.close()
        github.close()
    for number, out in enumerate(outputs):
        _scan(out.encode(), needles, f"the output of command {number + 1}", report)
    await asyncio.to_thread(_scan_files, home, needles, report)
    await _scan_database(db_url, needles, values, home / "data" / "secret.key", report)
    await asyncio.to_thread(_scan_objects, origin, needles, report)
    if not model.requests:
        report.problems.append("the model was never called")
    return report


async def _prepare(
    db_url: str, home: Path, config: Path, values: dict[str, str], model: ModelServer, root: Path
) -> None:
    """Models on the local server, and the OpenAI key and GitHub token pasted in settings."""
    from tests.reliability.harness import environment

    with environment(ASYNCCODER_HOME=str(home), ASYNCCODER_CONFIG=str(config)):
        ctx = await AppContext.open(quick_settings(db_url))
        try:
            await top_up(ctx)
            for name, provider, base in (
                ("sec-claude", "anthropic", model.url),
                ("sec-gpt", "openai", f"{model.url}/v1"),
            ):
                await ai_models.upsert_model(
                    ctx.db.pool, name=name, provider=provider, display_name=name,
                    input_price=Decimal(3), output_price=Decimal(15), base_url=base,
                )  # fmt: skip
            await settings_service.save_api_key(ctx, "openai_api_key", values["OPENAI_API_KEY"])
            await github_service.save_token(ctx, values["GITHUB_TOKEN"])
        finally:
            await ctx.close()


async def _set_github_name(db_url: str, root: Path) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        repo_id = await conn.fetchval(
            "SELECT id FROM repositories WHERE local_path = $1", str(root)
        )
    finally:
        await conn.close()
    from asynccoder_tui.db.pool import create_pool

    pool = await create_pool(db_url, max_size=1)
    try:
        await repositories.update_settings(pool, repo_id, {"github": "acme/widgets"})
    finally:
        await pool.close()


def _scan_files(home: Path, needles: dict[str, bytes], report: SecretsReport) -> None:
    for path in home.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        report.files_scanned += 1
        if path.suffix == ".log" or ".log." in path.name:
            report.log_lines += data.count(b"\n")
        _scan(data, needles, f"the file {path.relative_to(home)}", report)


async def _scan_database(
    db_url: str, needles: dict[str, bytes], values: dict[str, str], key_file: Path,
    report: SecretsReport,
) -> None:  # fmt: skip
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]  # fmt: skip
        for table in tables:
            for row in await conn.fetch(f'SELECT t::text AS row FROM "{table}" t'):
                report.rows_scanned += 1
                _scan(row["row"].encode(), needles, f"a row of {table}", report)
        stored = await conn.fetchrow(
            "SELECT github_token_encrypted, preferences::text AS prefs FROM users "
            "WHERE github_token_encrypted IS NOT NULL"
        )
    finally:
        await conn.close()
    if stored is None:
        report.problems.append("no GitHub token is stored")
        return
    box = await open_secret_box(key_file)
    try:
        token = box.decrypt(bytes(stored["github_token_encrypted"]).decode("ascii"))
        key = box.decrypt(json.loads(stored["prefs"])["openai_api_key_encrypted"])
    except Exception as err:
        report.problems.append(f"the stored tokens do not decrypt: {type(err).__name__}")
        return
    if token != values["GITHUB_TOKEN"] or key != values["OPENAI_API_KEY"]:
        report.problems.append("the stored ciphertexts are not the tokens given")


def _scan_objects(origin: Path, needles: dict[str, bytes], report: SecretsReport) -> None:
    def cat(mode: str) -> bytes:
        return subprocess.run(
            ["git", "cat-file", "--batch-all-objects", mode], cwd=origin, capture_output=True,
            check=False,
        ).stdout  # fmt: skip

    report.objects_scanned = len(cat("--batch-check").splitlines())
    _scan(cat("--batch"), needles, "the pushed git objects", report)
