"""`asynccoder model set-price|enable|disable|add` and `asynccoder agent list|set`, run as a real
process against a fresh database."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from tests.cli.test_cli import run


async def _one(db_url: str, query: str, *args: object) -> asyncpg.Record | None:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchrow(query, *args)
    finally:
        await conn.close()


async def test_model_prices_and_enabled_from_the_cli(db_url: str, home: Path) -> None:
    env = {"DATABASE_URL": db_url}
    done = run("model", "set-price", "gpt-5", "--input", "1.5", "--output", "12", env=env)
    assert done.returncode == 0, done.stderr
    assert "in $1.5" in done.stdout and "out $12" in done.stdout
    row = await _one(db_url, "SELECT input_price, output_price FROM ai_models WHERE name = 'gpt-5'")
    assert row is not None and (str(row[0]), str(row[1])) == ("1.500000", "12.000000")

    bad = run("model", "set-price", "gpt-5", "--input", "-1", env=env)
    assert bad.returncode != 0 and "cannot be negative" in bad.stderr
    assert run("model", "set-price", "no-such-model", "--input", "1", env=env).returncode != 0

    assert run("model", "disable", "gpt-5", env=env).returncode == 0
    listed = json.loads(run("model", "list", "--json", env=env).stdout)
    assert "gpt-5" not in {m["name"] for m in listed}
    everything = json.loads(run("model", "list", "--all", "--json", env=env).stdout)
    assert {m["name"]: m["active"] for m in everything}["gpt-5"] is False
    assert run("model", "enable", "gpt-5", env=env).returncode == 0

    added = run(
        "model", "add", "llama3.1:8b", "--provider", "openai-compatible", "--input", "0",
        "--output", "0", "--base-url", "http://localhost:11434/v1", env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    row = await _one(db_url, "SELECT provider, base_url FROM ai_models WHERE name = 'llama3.1:8b'")
    assert row is not None and tuple(row) == ("openai_compatible", "http://localhost:11434/v1")
    again = run(
        "model", "add", "llama3.1:8b", "--provider", "openai", "--input", "1", "--output", "1",
        env=env,
    )  # fmt: skip
    assert again.returncode != 0 and "exists already" in again.stderr
    actions = await _one(db_url, "SELECT array_agg(action ORDER BY id) FROM audit_logs")
    assert actions is not None
    assert actions[0] == ["ai_model.changed"] * 3 + ["ai_model.added"]


async def test_agent_list_and_set_from_the_cli(db_url: str, home: Path, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url}
    listed = json.loads(run("agent", "list", "--json", env=env).stdout)
    assert {"planner", "coder", "reviewer"} <= {a["kind"] for a in listed}
    prompt = tmp_path / "coder.md"
    prompt.write_text("You are a terse engineer.\nWrite tests first.\n")
    done = run(
        "agent", "set", "coder", "--model", "gpt-5", "--tools", "view,search,edit",
        "--prompt-file", str(prompt), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = await _one(
        db_url,
        "SELECT system_prompt, default_model, allowed_tools FROM agents WHERE kind = 'coder'",
    )
    assert row is not None
    assert row[0] == "You are a terse engineer.\nWrite tests first."
    assert (row[1], row[2]) == ("gpt-5", ["view", "search", "edit", "finish"])
    text = run("agent", "list", env=env).stdout
    assert "coder" in text and "view,search,edit,finish" in text

    bad = run("agent", "set", "coder", "--tools", "view,format_disk", env=env)
    assert bad.returncode != 0 and "format_disk" in bad.stderr
    assert run("agent", "set", "nobody", "--model", "gpt-5", env=env).returncode != 0


async def test_hostile_catalog_arguments_are_refused_in_words(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url}
    binary = tmp_path / "prompt.bin"
    binary.write_bytes(b"\xff\xfe\x00not text")
    cases = [
        (("model", "set-price", "gpt-5", "--input", "Infinity"), "finite"),
        (("model", "set-price", "gpt-5", "--output", "1e999"), "too large"),
        (("model", "set-price", "gpt-5", "--input", "0x10"), "not a number"),
        (("model", "set-price", "\x1b[31mred", "--input", "1"), "unknown model"),
        (("model", "add", "m1", "--provider", "openai", "--input", "1", "--output", "1",
          "--base-url", "http://x\x1b[2J/v1"), "not an http(s) address"),
        (("model", "add", "m2", "--provider", "openai", "--input", "1", "--output", "1",
          "--context-window", "-5"), "context window"),
        (("agent", "set", "coder", "--prompt-file", str(binary)), "cannot read the prompt file"),
        (("agent", "set", "coder", "--prompt-file", str(tmp_path / "missing.md")), "cannot read"),
        (("agent", "set", "coder"), "nothing to change"),
        (("agent", "set", "coder", "--model", "\x1b]0;pwned\x07"), "not an enabled model"),
    ]  # fmt: skip
    for argv, words in cases:
        done = run(*argv, env=env)
        assert done.returncode not in (0, 70), (argv, done.stderr)
        assert words in done.stderr, (argv, done.stderr)
        assert "\x1b" not in done.stderr + done.stdout and "Traceback" not in done.stderr
    row = await _one(db_url, "SELECT count(*) FROM audit_logs")
    assert row is not None and row[0] == 0
