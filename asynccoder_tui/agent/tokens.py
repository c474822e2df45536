"""Token counts and money: what a call will cost before it is made and what it cost after.

Costs are `Decimal` US dollars computed from a provider's usage fields and the model's prices
per million tokens (`AIModel.input_price`, `output_price`, `cache_read_price`,
`cache_write_price`). A cache price of zero means "not priced separately": those tokens are
billed at the input rate, which never undercharges.

Counts come from tiktoken (`o200k_base` for current OpenAI models, `cl100k_base` for older ones;
for other vendors' models tiktoken is an approximation and the count is flagged `exact=False`).
tiktoken downloads its encoding files on first use; where that file is not cached and cannot be
fetched (offline machines, tests), counts fall back to the documented estimate below and say so
with `estimated=True`. The download is attempted at most once per process, in a background
thread, never on the event loop; `ASYNCCODER_TIKTOKEN_DOWNLOAD=0` forbids it.

Fallback estimate: one token per `BYTES_PER_TOKEN` (3.5) UTF-8 bytes, rounded up, plus one per
line break. BPE vocabularies of current models average about 4 bytes a token on English prose
and 3 to 4 on source code, so the estimate errs on the high side, which is the safe side for
budgets.

This module must not import the provider SDKs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asynccoder_tui.agent.providers.base import Usage
from asynccoder_tui.domain.models import AIModel

log = logging.getLogger(__name__)

BYTES_PER_TOKEN = 3.5
MILLION = Decimal(1_000_000)
MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a provider adds around each message (role markers, separators)."""

_ENCODING_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    estimated: bool
    """True when the count is the byte-based fallback, not a tokenizer's."""
    exact: bool = False
    """True only when the tokenizer is the model's own (OpenAI models with tiktoken)."""


def estimate_tokens_from_bytes(text: str) -> int:
    """The documented fallback estimate (see the module docstring)."""
    if not text:
        return 0
    size = len(text.encode("utf-8", "surrogatepass"))
    return math.ceil(size / BYTES_PER_TOKEN) + text.count("\n") // 8


def encoding_name_for(model_name: str) -> str:
    """The tiktoken encoding to use for `model_name`."""
    name = model_name.lower()
    legacy = ("gpt-3.5", "gpt-4-", "gpt-4 ", "text-embedding", "davinci")
    if name == "gpt-4" or name.startswith(legacy):
        return "cl100k_base"
    return "o200k_base"


def _is_openai_model(model_name: str) -> bool:
    name = model_name.lower()
    return name.startswith(("gpt-", "o1", "o3", "o4", "chatgpt", "codex"))


class _EncodingCache:
    """Loads tiktoken encodings once per process without blocking the caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encodings: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._loading: set[str] = set()

    def get(self, name: str) -> Any | None:
        encoding = self._encodings.get(name)
        if encoding is not None or name in self._failed:
            return encoding
        with self._lock:
            if name in self._encodings or name in self._failed or name in self._loading:
                return self._encodings.get(name)
            if encoding_cached(name):
                self._load(name)
                return self._encodings.get(name)
            if os.environ.get("ASYNCCODER_TIKTOKEN_DOWNLOAD", "1") in ("0", "false", "no"):
                self._failed.add(name)
                return None
            self._loading.add(name)
        thread = threading.Thread(
            target=self._load_in_background, args=(name,), name=f"tiktoken-{name}", daemon=True
        )
        thread.start()
        return None

    def _load(self, name: str) -> None:
        try:
            import tiktoken

            self._encodings[name] = tiktoken.get_encoding(name)
        except Exception as err:  # offline, corrupt cache, missing package: estimate instead
            log.info("tiktoken encoding %s unavailable (%s); using the byte estimate", name, err)
            self._failed.add(name)

    def _load_in_background(self, name: str) -> None:
        try:
            self._load(name)
        finally:
            with self._lock:
                self._loading.discard(name)

    def forget(self) -> None:
        """Drop loaded encodings and failures (tests use this)."""
        with self._lock:
            self._encodings.clear()
            self._failed.clear()


_CACHE = _EncodingCache()


def encoding_cached(name: str) -> bool:
    url = _ENCODING_URLS.get(name)
    if url is None:
        return False
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if cache_dir == "":
        return False
    return os.path.exists(os.path.join(cache_dir, hashlib.sha1(url.encode()).hexdigest()))


def tokenizer_available(model_name: str = "gpt-4o") -> bool:
    """True when counts for `model_name` come from tiktoken rather than the estimate."""
    return _CACHE.get(encoding_name_for(model_name)) is not None


def reset_tokenizer_cache() -> None:
    _CACHE.forget()
    _encode_count.cache_clear()


@functools.lru_cache(maxsize=8192)
def _encode_count(text: str, encoding_name: str) -> int:
    encoding = _CACHE.get(encoding_name)
    assert encoding is not None  # callers check availability first
    return len(encoding.encode(text, disallowed_special=()))


def count_tokens(text: str, model_name: str = "gpt-4o") -> TokenCount:
    """Tokens in `text` for `model_name`: tiktoken when it is available, else the estimate."""
    if not text:
        return TokenCount(0, estimated=False, exact=True)
    encoding_name = encoding_name_for(model_name)
    if _CACHE.get(encoding_name) is None:
        return TokenCount(estimate_tokens_from_bytes(text), estimated=True)
    return TokenCount(
        _encode_count(text, encoding_name), estimated=False, exact=_is_openai_model(model_name)
    )


def _price(price: Decimal, fallback: Decimal) -> Decimal:
    return price if price > 0 else fallback


def cost_of(usage: Usage, model: AIModel) -> Decimal:
    """Dollars a call with `usage` costs at `model`'s prices."""
    total = (
        usage.input_tokens * model.input_price
        + usage.output_tokens * model.output_price
        + usage.cache_read_tokens * _price(model.cache_read_price, model.input_price)
        + usage.cache_write_tokens * _price(model.cache_write_price, model.input_price)
    )
    return Decimal(total) / MILLION


def worst_input_price(model: AIModel) -> Decimal:
    """The highest rate any input token of a call can be billed at (cache writes cost more)."""
    return max(model.input_price, _price(model.cache_write_price, model.input_price))


def output_tokens_affordable(budget: Decimal, model: AIModel) -> int | None:
    """How many output tokens `budget` dollars buy; None when output is free."""
    if model.output_price <= 0:
        return None
    if budget <= 0:
        return 0
    return int((budget * MILLION) / model.output_price)


def format_cost(amount: Decimal) -> str:
    """A cost as a JSON-safe string with enough precision for sub-cent calls."""
    return str(amount.quantize(Decimal("0.000001")))


@dataclass(frozen=True)
class TaskCostEstimate:
    """What a task is expected to cost before it starts, for the new-task form."""

    low: Decimal
    expected: Decimal
    high: Decimal
    prompt_tokens: int
    expected_steps: int
    estimated: bool
    """True when token counts are the byte estimate (tiktoken encodings unavailable)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "low": format_cost(self.low),
            "expected": format_cost(self.expected),
            "high": format_cost(self.high),
            "prompt_tokens": self.prompt_tokens,
            "expected_steps": self.expected_steps,
            "estimated": self.estimated,
        }


# Typical shape of one step, measured as averages over agent trajectories: the model writes a
# short thought and a tool call, the tool answers with a screenful of output.
STEP_OUTPUT_TOKENS = 350
STEP_RESULT_TOKENS = 1_200
EXPECTED_STEPS = {
    "code": 18,
    "debug": 22,
    "documentation": 12,
    "ask": 6,
    "architect": 10,
    "review": 10,
    "plan": 8,
}


def simulate_trajectory_cost(
    model: AIModel,
    *,
    prefix_tokens: int,
    steps: int,
    step_output_tokens: int = STEP_OUTPUT_TOKENS,
    step_result_tokens: int = STEP_RESULT_TOKENS,
    cached: bool = True,
) -> Decimal:
    """Cost of `steps` calls whose context grows by one assistant turn and one result each.

    With `cached`, each call reads the previous call's prompt from the cache and writes the new
    tail, as the loop's moving cache breakpoint arranges.
    """
    total = Decimal(0)
    context = prefix_tokens
    previous = 0
    for _ in range(max(1, steps)):
        if cached and previous:
            usage = Usage(
                cache_read_tokens=previous,
                cache_write_tokens=context - previous,
                output_tokens=step_output_tokens,
            )
        elif cached:
            usage = Usage(cache_write_tokens=context, output_tokens=step_output_tokens)
        else:
            usage = Usage(input_tokens=context, output_tokens=step_output_tokens)
        total += cost_of(usage, model)
        previous = context
        context += step_output_tokens + step_result_tokens
    return total


def estimate_task_cost(
    prompt: str,
    model: AIModel,
    *,
    mode: str = "code",
    system_tokens: int | None = None,
    max_steps: int | None = None,
    prompt_cache: bool | None = None,
) -> TaskCostEstimate:
    """Expected cost of a task: a low, expected and high figure in dollars.

    `system_tokens` defaults to the size of the mode's system prompt and tool schemas;
    `prompt_cache` defaults to True for Anthropic and OpenAI models (both bill repeated prefixes
    at the cache rate). `high` assumes the task runs to `max_steps` (default twice the expected
    steps) with long tool outputs.
    """
    from asynccoder_tui.agent.modes import mode_prefix_tokens
    from asynccoder_tui.domain.enums import ProviderKind

    counted = count_tokens(prompt, model.name)
    if system_tokens is None:
        system_tokens = mode_prefix_tokens(mode, model.name)
    if prompt_cache is None:
        prompt_cache = model.provider in (ProviderKind.ANTHROPIC, ProviderKind.OPENAI)
    expected_steps = EXPECTED_STEPS.get(str(mode), 15)
    high_steps = max_steps if max_steps is not None else expected_steps * 2
    if max_steps is not None:
        expected_steps = min(expected_steps, max_steps)
    prefix = system_tokens + counted.tokens
    low = simulate_trajectory_cost(
        model, prefix_tokens=prefix, steps=max(1, expected_steps // 3), cached=prompt_cache
    )
    expected = simulate_trajectory_cost(
        model, prefix_tokens=prefix, steps=expected_steps, cached=prompt_cache
    )
    high = simulate_trajectory_cost(
        model,
        prefix_tokens=prefix,
        steps=high_steps,
        step_result_tokens=STEP_RESULT_TOKENS * 2,
        step_output_tokens=STEP_OUTPUT_TOKENS * 2,
        cached=prompt_cache,
    )
    return TaskCostEstimate(
        low=low,
        expected=expected,
        high=high,
        prompt_tokens=counted.tokens,
        expected_steps=expected_steps,
        estimated=counted.estimated,
    )
