"""Billed-equivalent input tokens of a 30-step agent trajectory: ours against a naive replay.

The trajectory is fixed: a scripted model explores, reads, searches, edits and tests a generated
Python project in 30 steps, and the real agent loop runs it (real tools, real context
management). Every request the loop sends is recorded, rendered exactly as the Anthropic
provider renders it (cache breakpoints included), and billed under Anthropic's 5-minute prompt
cache rules, simulated: a prefix is read from the cache when an earlier request wrote it at a
block boundary (at most 20 blocks before a breakpoint) less than 5 minutes ago (reads refresh
it), reads cost 0.1x and writes 1.25x the input rate. One step is taken to last 20 seconds.

The reference is the same trajectory sent naively: no caching, no elision, every request's
whole input at full price, measured in the same run. Target: ratio 0.2 or lower.

Run: `python -m bench.agent_tokens` (or `python bench/agent_tokens.py`). No network: token
counts use tiktoken when its encoding is cached locally, else the documented byte estimate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sys
import tempfile
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

os.environ.setdefault("ASYNCCODER_TIKTOKEN_DOWNLOAD", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asynccoder_tui.agent import Budget, ContextPolicy, SubprocessRunner, run_agent
from asynccoder_tui.agent.providers.anthropic import render_request
from asynccoder_tui.agent.providers.messages import conversation_from_json
from asynccoder_tui.agent.providers.scripted import (
    ScriptedCall,
    ScriptedProvider,
    ScriptedTurn,
)
from asynccoder_tui.agent.tokens import count_tokens, tokenizer_available
from asynccoder_tui.agent.tools import tool_specs
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.models import AIModel

STEPS = 30
STEP_SECONDS = 20.0
CACHE_TTL = 300.0
LOOKBACK_BLOCKS = 20
READ_RATE = 0.1
WRITE_RATE = 1.25
MODEL_NAME = "claude-sonnet-4-5"

WORDS = "alpha beta gamma delta config parser token queue worker lease retry value item".split()


def build_project(root: Path) -> None:
    """A deterministic project of modules, tests and docs of realistic sizes."""
    rng = random.Random(7)
    (root / "src" / "shop").mkdir(parents=True)
    (root / "tests").mkdir()
    for index in range(24):
        lines = [
            f'"""Module {index} of the shop package."""',
            "",
            "from __future__ import annotations",
            "",
        ]
        for function in range(rng.randint(6, 22)):
            name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{function}"
            lines += [
                f"def {name}(items, limit=10):",
                f'    """Return the {rng.choice(WORDS)} of items, at most `limit`."""',
                "    result = []",
                "    for item in items:",
                f"        if item.{rng.choice(WORDS)} > limit:",
                "            continue",
                f"        result.append(item.{rng.choice(WORDS)})",
                "    return result",
                "",
            ]
        (root / "src" / "shop" / f"mod{index:02d}.py").write_text("\n".join(lines) + "\n")
    for index in range(8):
        body = "\n".join(
            f"def test_case_{n}():\n    assert mod{index:02d} is not None\n"
            for n in range(rng.randint(10, 30))
        )
        (root / "tests" / f"test_mod{index:02d}.py").write_text(
            f"from shop import mod{index:02d}\n\n{body}"
        )
    (root / "README.md").write_text("# Shop\n\n" + "A small shop library. " * 40 + "\n")


def _call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def _turn(text: str, *calls: ScriptedCall) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls))


def test_log(lines: int) -> str:
    """A command printing a test log of `lines` lines (what a test run shows)."""
    program = (
        f"for i in range({lines}): print(f'tests/test_mod{{i % 8:02d}}.py::test_case_{{i}} PASSED')"
    )
    return f'python3 -c "{program}"'


def trajectory() -> list[ScriptedTurn]:
    """30 turns: explore, read, search, edit, test, finish."""
    turns = [
        _turn("I'll start by looking at the layout of the project.", _call("list_files")),
        _turn("Let me read the README.", _call("view", path="README.md")),
        _turn("Where is the parser used?", _call("search", pattern="parser")),
    ]
    for index in (3, 7, 11):
        turns.append(
            _turn(f"Reading module {index}.", _call("view", path=f"src/shop/mod{index:02d}.py"))
        )
    turns.append(
        _turn("Running the test suite to see where we stand.", _call("run", command=test_log(120)))
    )
    for index in (3, 7):
        turns.append(
            _turn(
                f"Reading the tests of module {index}.",
                _call("view", path=f"tests/test_mod{index:02d}.py"),
            )
        )
    turns.append(_turn("Looking for the retry logic.", _call("search", pattern=r"def retry_\w+")))
    for index in (15, 19, 2, 5):
        turns.append(
            _turn(
                f"Checking module {index} too.", _call("view", path=f"src/shop/mod{index:02d}.py")
            )
        )
    turns.append(
        _turn(
            "I will make the limit inclusive in module 3.",
            _call(
                "edit",
                path="src/shop/mod03.py",
                old_str='"""Module 3 of the shop package."""',
                new_str='"""Module 3 of the shop package (inclusive limits)."""',
            ),
        )
    )
    turns.append(_turn("Running the tests again.", _call("run", command=test_log(150))))
    turns.append(_turn("Searching every limit comparison.", _call("search", pattern=r"> limit")))
    for index in (9, 13):
        turns.append(
            _turn(f"Reading module {index}.", _call("view", path=f"src/shop/mod{index:02d}.py"))
        )
    turns.append(
        _turn(
            "Adding a note to the README.",
            _call("insert", path="README.md", line=2, text="Limits are inclusive."),
        )
    )
    turns.append(_turn("Listing the tests.", _call("list_files", path="tests")))
    turns.append(_turn("Reading one more test file.", _call("view", path="tests/test_mod05.py")))
    turns.append(_turn("Running the whole suite.", _call("run", command=test_log(200))))
    for index in (17, 21, 1, 23):
        turns.append(
            _turn(
                f"Double-checking module {index}.",
                _call("view", path=f"src/shop/mod{index:02d}.py"),
            )
        )
    turns.append(_turn("A last search for leftovers.", _call("search", pattern="TODO|FIXME")))
    turns.append(_turn("Final test run.", _call("run", command=test_log(200))))
    turns.append(
        _turn("All green.", _call("finish", summary="Limits are inclusive now; tests pass."))
    )
    assert len(turns) == STEPS, len(turns)
    return turns


MODEL = AIModel(
    id=uuid.uuid4(),
    name=MODEL_NAME,
    provider=ProviderKind.ANTHROPIC,
    display_name="Claude Sonnet 4.5",
    input_price=Decimal(3),
    output_price=Decimal(15),
    cache_read_price=Decimal("0.30"),
    cache_write_price=Decimal("3.75"),
    context_window=200_000,
    max_output=8_192,
)

NO_ELISION = ContextPolicy(block=10**9, high_water=10.0)


async def replay(policy: ContextPolicy) -> list[dict[str, Any]]:
    """Run the trajectory through the real loop and return the requests it sent."""
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as tmp:
        root = Path(tmp)
        build_project(root)
        provider = ScriptedProvider(trajectory(), model_name=MODEL_NAME)
        outcome = await run_agent(
            provider,
            root,
            model=MODEL,
            prompt="Make every limit check in the shop package inclusive and keep the tests green.",
            budget=Budget(max_steps=STEPS, max_cost=None),
            runner=SubprocessRunner(),
            context_policy=policy,
        )
        if not outcome.submitted or len(provider.requests) != STEPS:
            raise RuntimeError(
                f"trajectory did not complete: {outcome.exit_status} {outcome.summary}"
            )
        return provider.requests


@dataclass(frozen=True)
class Block:
    digest: str
    """Hash of everything up to and including this block (the cache key of that prefix)."""
    end_tokens: int
    breakpoint: bool


def _tokens(value: Any) -> int:
    return count_tokens(json.dumps(value, ensure_ascii=False), MODEL_NAME).tokens


def request_blocks(request: dict[str, Any]) -> list[Block]:
    """The request as Anthropic orders its prefix: tools, system, then message blocks."""
    rendered = render_request(
        request["system"], conversation_from_json(request["messages"]), tool_specs(request["tools"])
    )
    pieces: list[tuple[Any, bool]] = [(rendered["tools"], False)]
    for block in rendered["system"]:
        pieces.append((block, "cache_control" in block))
    for message in rendered["messages"]:
        for block in message["content"]:
            pieces.append(({"role": message["role"], **block}, "cache_control" in block))
    blocks: list[Block] = []
    running = hashlib.sha256()
    total = 0
    for piece, marked in pieces:
        clean = (
            {k: v for k, v in piece.items() if k != "cache_control"}
            if isinstance(piece, dict)
            else piece
        )
        running.update(json.dumps(clean, sort_keys=True, ensure_ascii=False).encode())
        total += _tokens(clean)
        blocks.append(Block(running.hexdigest(), total, marked))
    return blocks


@dataclass
class CacheBill:
    uncached: int = 0
    read: int = 0
    written: int = 0

    @property
    def billed_equivalent(self) -> float:
        return self.uncached + READ_RATE * self.read + WRITE_RATE * self.written


def simulate_anthropic_cache(requests: list[dict[str, Any]]) -> CacheBill:
    cache: dict[str, float] = {}  # prefix digest -> last time written or read
    bill = CacheBill()
    for step, request in enumerate(requests):
        now = step * STEP_SECONDS
        blocks = request_blocks(request)
        total = blocks[-1].end_tokens
        marks = [i for i, b in enumerate(blocks) if b.breakpoint]
        read_end = 0
        read_index = -1
        for mark in marks:
            for index in range(mark, max(-1, mark - LOOKBACK_BLOCKS), -1):
                seen = cache.get(blocks[index].digest)
                if (
                    seen is not None
                    and now - seen <= CACHE_TTL
                    and blocks[index].end_tokens > read_end
                ):
                    read_end, read_index = blocks[index].end_tokens, index
                    break
        if read_index >= 0:
            cache[blocks[read_index].digest] = now
        last_mark_end = blocks[marks[-1]].end_tokens if marks else 0
        bill.read += read_end
        bill.written += max(0, last_mark_end - read_end)
        bill.uncached += total - max(read_end, last_mark_end)
        for mark in marks:
            cache[blocks[mark].digest] = now
    return bill


def simulate_openai_cache(requests: list[dict[str, Any]], cached_rate: float) -> float:
    """OpenAI-style automatic caching: the common prefix with the previous request, in 128s."""
    billed = 0.0
    previous: list[Block] = []
    for request in requests:
        blocks = request_blocks(request)
        common = 0
        for old, new in zip(previous, blocks, strict=False):
            if old.digest != new.digest:
                break
            common = new.end_tokens
        cached = (common // 128) * 128 if common >= 1024 else 0
        billed += (blocks[-1].end_tokens - cached) + cached_rate * cached
        previous = blocks
    return billed


def naive_tokens(requests: list[dict[str, Any]]) -> int:
    return sum(request_blocks(r)[-1].end_tokens for r in requests)


async def main() -> None:
    ours = await replay(ContextPolicy())
    naive = await replay(NO_ELISION)
    reference = naive_tokens(naive)
    bill = simulate_anthropic_cache(ours)
    sent = naive_tokens(ours)
    openai_ours = simulate_openai_cache(ours, 0.1)
    counting = "tiktoken" if tokenizer_available(MODEL_NAME) else "byte estimate"
    ref = (
        f"naive {STEPS}-step replay, no cache, no elision: {reference} tokens; counts by {counting}"
    )
    print(
        f"agent_billed_input_tokens: {bill.billed_equivalent:.0f} tokens "
        f"(ratio {bill.billed_equivalent / reference:.3f} vs {ref})"
    )
    print(f"agent_sent_input_tokens: {sent} tokens (ratio {sent / reference:.3f} vs naive replay)")
    print(
        f"agent_cache_read_tokens: {bill.read} tokens (ratio {bill.read / max(1, sent):.3f} vs tokens sent)"
    )
    print(
        f"agent_billed_input_tokens_openai_style: {openai_ours:.0f} tokens "
        f"(ratio {openai_ours / reference:.3f} vs naive replay; cached input at 0.1x, prefix reuse only)"
    )


if __name__ == "__main__":
    asyncio.run(main())
