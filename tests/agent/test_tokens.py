"""Token counts (tiktoken or the documented estimate) and cost accounting with Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asynccoder_tui.agent import tokens
from asynccoder_tui.agent.providers.base import Usage
from asynccoder_tui.agent.tokens import (
    cost_of,
    count_tokens,
    encoding_name_for,
    estimate_task_cost,
    estimate_tokens_from_bytes,
    output_tokens_affordable,
)
from asynccoder_tui.domain.enums import ProviderKind
from tests.agent.conftest import make_model


def test_offline_counts_are_the_documented_estimate_and_say_so() -> None:
    tokens.reset_tokenizer_cache()
    text = "def main():\n    print('hello world')\n" * 10
    counted = count_tokens(text, "gpt-4o")
    assert counted.estimated and not counted.exact
    assert counted.tokens == estimate_tokens_from_bytes(text)
    assert counted.tokens >= len(text.encode()) / 4  # errs on the high side
    assert not tokens.tokenizer_available("gpt-4o")
    assert count_tokens("").tokens == 0


def test_encoding_choice() -> None:
    assert encoding_name_for("gpt-4o-mini") == "o200k_base"
    assert encoding_name_for("gpt-5") == "o200k_base"
    assert encoding_name_for("gpt-4") == "cl100k_base"
    assert encoding_name_for("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_name_for("claude-sonnet-4-5") == "o200k_base"


def test_anthropic_cost_prices_every_kind_of_token() -> None:
    model = make_model(
        input_price="3", output_price="15", cache_read_price="0.30", cache_write_price="3.75"
    )
    usage = Usage(
        input_tokens=1_000,
        output_tokens=2_000,
        cache_read_tokens=100_000,
        cache_write_tokens=10_000,
    )
    expected = (
        Decimal(1_000) * 3
        + Decimal(2_000) * 15
        + Decimal(100_000) * Decimal("0.30")
        + Decimal(10_000) * Decimal("3.75")
    ) / 1_000_000
    assert cost_of(usage, model) == expected == Decimal("0.1005")


def test_openai_cached_input_has_its_own_rate_and_unpriced_cache_falls_back_to_input() -> None:
    model = make_model(
        "gpt-test",
        ProviderKind.OPENAI,
        input_price="2.50",
        output_price="10",
        cache_read_price="1.25",
        cache_write_price="0",
    )
    usage = Usage(input_tokens=200, cache_read_tokens=800, cache_write_tokens=100, output_tokens=10)
    assert (
        cost_of(usage, model)
        == (
            Decimal(200) * Decimal("2.50")
            + Decimal(800) * Decimal("1.25")
            + Decimal(100) * Decimal("2.50")
            + Decimal(10) * 10
        )
        / 1_000_000
    )


def test_affordable_output() -> None:
    model = make_model(output_price="15")
    assert output_tokens_affordable(Decimal("0.015"), model) == 1_000
    assert output_tokens_affordable(Decimal("-1"), model) == 0
    free = make_model(output_price="0")
    assert output_tokens_affordable(Decimal("1"), free) is None


def test_task_estimate_is_ordered_and_caching_is_cheaper() -> None:
    model = make_model("claude-test", ProviderKind.ANTHROPIC)
    estimate = estimate_task_cost(
        "Add a --verbose flag to the CLI and test it.", model, mode="code"
    )
    assert Decimal(0) < estimate.low < estimate.expected < estimate.high
    assert estimate.estimated  # offline: byte estimate
    assert estimate.prompt_tokens > 0 and estimate.expected_steps == tokens.EXPECTED_STEPS["code"]
    uncached = estimate_task_cost(
        "Add a --verbose flag to the CLI and test it.", model, prompt_cache=False
    )
    assert uncached.expected > estimate.expected
    ask = estimate_task_cost("What does main do?", model, mode="ask")
    assert ask.expected < estimate.expected
    data = estimate.as_dict()
    assert set(data) == {"low", "expected", "high", "prompt_tokens", "expected_steps", "estimated"}
    assert Decimal(data["expected"]) == estimate.expected.quantize(Decimal("0.000001"))


def test_a_longer_prompt_costs_more_and_local_models_are_free() -> None:
    model = make_model("gpt-test", ProviderKind.OPENAI)
    short = estimate_task_cost("fix it", model)
    long = estimate_task_cost("fix it " + "with a lot of context " * 500, model)
    assert long.expected > short.expected
    local = make_model(
        "llama",
        ProviderKind.OPENAI_COMPATIBLE,
        input_price="0",
        output_price="0",
        cache_read_price="0",
        cache_write_price="0",
    )
    assert estimate_task_cost("fix it", local).high == 0


@pytest.mark.parametrize("steps", [1, 5])
def test_max_steps_bounds_the_high_estimate(steps: int) -> None:
    model = make_model("claude-test", ProviderKind.ANTHROPIC)
    bounded = estimate_task_cost("task", model, max_steps=steps)
    assert bounded.expected_steps <= steps
    assert bounded.high <= estimate_task_cost("task", model).high
