"""The agent loop with the scripted provider: every exit status, budgets, retries, billing."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from asynccoder_tui.agent import AgentRun, Budget, ExitStatus, Outcome, RetryPolicy, run_agent
from asynccoder_tui.agent.context import ContextPolicy
from asynccoder_tui.agent.providers.base import StopReason, Usage
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    ToolCall,
    ToolResultsMessage,
    UserMessage,
    conversation_from_json,
)
from asynccoder_tui.agent.providers.scripted import (
    ScriptedCall,
    ScriptedError,
    ScriptedProvider,
    ScriptedTurn,
)
from asynccoder_tui.agent.runner import SubprocessRunner
from asynccoder_tui.agent.tokens import cost_of
from asynccoder_tui.domain.enums import EventKind, ResultType
from tests.agent.conftest import Recorder, make_model
from tests.agent.history_checks import check_all


def call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


def turn(text: str = "", *calls: ScriptedCall, **extra: Any) -> ScriptedTurn:
    return ScriptedTurn(text=text, tool_calls=list(calls), **extra)


FINISH = turn("Done.", call("finish", summary="All done."))


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def fast_retry(sleeps: Sleeps | None = None, **overrides: Any) -> RetryPolicy:
    return RetryPolicy(
        base_delay=0.01, max_delay=1.0, max_total_wait=30.0, sleep=sleeps or Sleeps(), **overrides
    )


async def run(
    plan: list[Any],
    workspace: Path,
    recorder: Recorder | None = None,
    *,
    provider: ScriptedProvider | None = None,
    **kwargs: Any,
) -> Outcome:
    kwargs.setdefault("model", make_model())
    kwargs.setdefault("retry", fast_retry())
    kwargs.setdefault("repo_map", False)
    kwargs.setdefault("prompt", "Make greet polite.")
    kwargs.setdefault("emit", recorder)
    outcome = await run_agent(provider or ScriptedProvider(plan), workspace, **kwargs)
    check_all(outcome.conversation)
    return outcome


async def test_submitted_run_edits_bills_and_reports(workspace: Path, recorder: Recorder) -> None:
    plan = [
        turn("Reading.", call("view", path="src/app.py")),
        turn("Editing.", call("edit", path="src/app.py", old_str="'hello '", new_str="'Hello, '")),
        turn("", call("run", command="python3 -c 'print(1+1)'")),
        FINISH,
    ]
    outcome = await run(plan, workspace, recorder, runner=SubprocessRunner())
    assert outcome.exit_status is ExitStatus.SUBMITTED and outcome.submitted
    assert outcome.summary == "All done."
    assert outcome.steps == 4 and outcome.changed_paths == ["src/app.py"]
    assert "'Hello, '" in (workspace / "src" / "app.py").read_text()
    assert outcome.result_type is ResultType.CODE_CHANGES
    usage_events = recorder.of(EventKind.USAGE)
    assert len(usage_events) == 4
    assert outcome.cost == sum(Decimal(e["cost"]) for e in usage_events)
    assert outcome.cost == cost_of(outcome.usage, make_model())
    assert usage_events[-1]["total_cost"] == str(outcome.cost.quantize(Decimal("0.000001")))
    assert recorder.states()[0] == "started" and recorder.states()[-1] == "finished"
    results = recorder.of(EventKind.TOOL_RESULT)
    assert [r["name"] for r in results] == ["view", "edit", "run", "finish"]
    assert results[2]["output"].startswith("exit code 0") and "2" in results[2]["output"]
    assert results[1]["changed_path"] == "src/app.py"
    deltas = "".join(p["text"] for p in recorder.of(EventKind.TEXT_DELTA))
    assert deltas == "Reading.Editing.Done."
    assert [p["role"] for p in recorder.of(EventKind.MESSAGE)] == ["user"] + ["assistant"] * 3
    finished = recorder.of(EventKind.STATUS)[-1]
    assert finished["exit_status"] == "submitted" and finished["steps"] == 4
    seqs = [e.seq for e in recorder.events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


async def test_step_limit(workspace: Path, recorder: Recorder) -> None:
    provider = ScriptedProvider([turn("again", call("list_files"))], repeat=True)
    outcome = await run([], workspace, recorder, provider=provider, budget=Budget(max_steps=3))
    assert outcome.exit_status is ExitStatus.STEP_LIMIT
    assert outcome.steps == 3 and provider.calls == 3
    assert "Step limit" in outcome.summary and "again" in outcome.summary


async def test_time_limit_mid_stream(workspace: Path) -> None:
    slow = turn("word " * 200, call("finish", summary="never"), delay=0.02, chunk_chars=5)
    outcome = await run([slow], workspace, budget=Budget(max_seconds=0.3))
    assert outcome.exit_status is ExitStatus.TIME_LIMIT
    assert outcome.duration < 2.0


async def test_time_limit_during_a_command(workspace: Path) -> None:
    plan = [turn("", call("run", command="sleep 20"), call("view", path="README.md"))]
    outcome = await run(
        plan, workspace, runner=SubprocessRunner(kill_grace=0.1), budget=Budget(max_seconds=0.5)
    )
    assert outcome.exit_status is ExitStatus.TIME_LIMIT
    assert outcome.duration < 3.0
    last = outcome.conversation[-1]
    assert isinstance(last, ToolResultsMessage)
    assert [r.is_error for r in last.results] == [True, True]


@pytest.mark.parametrize("max_cost", ["0.03", "0.05", "0.11"])
async def test_cost_limit_stops_before_crossing(
    workspace: Path, recorder: Recorder, max_cost: str
) -> None:
    (workspace / "notes.txt").write_text("".join(f"note number {i}\n" for i in range(150)))
    provider = ScriptedProvider(
        [turn("Reading the notes again.", call("view", path="notes.txt"))], repeat=True
    )
    limit = Decimal(max_cost)
    outcome = await run(
        [], workspace, recorder, provider=provider, budget=Budget(max_cost=limit, max_steps=200)
    )
    assert outcome.exit_status is ExitStatus.COST_LIMIT
    assert Decimal(0) < outcome.cost <= limit
    assert outcome.steps >= 2
    assert "Cost limit" in outcome.summary


async def test_budget_cuts_max_tokens_so_a_long_reply_cannot_cross(
    workspace: Path, recorder: Recorder
) -> None:
    essay = turn("blah " * 40_000, call("finish", summary="essay"))
    limit = Decimal("0.08")
    outcome = await run([essay, FINISH], workspace, recorder, budget=Budget(max_cost=limit))
    steps = [p for p in recorder.of(EventKind.STATUS) if p["state"] == "step"]
    assert steps[0]["max_output_tokens"] < 8_192  # cut to what the budget can pay for
    assert outcome.cost <= limit
    assert outcome.exit_status in (ExitStatus.COST_LIMIT, ExitStatus.SUBMITTED)
    first = outcome.conversation[1]
    assert isinstance(first, AssistantMessage) and first.stop_reason == StopReason.MAX_TOKENS.value


async def test_cost_limit_refuses_the_first_call_when_it_cannot_be_afforded(
    workspace: Path,
) -> None:
    provider = ScriptedProvider([FINISH])
    outcome = await run([], workspace, provider=provider, budget=Budget(max_cost=Decimal("0.001")))
    assert outcome.exit_status is ExitStatus.COST_LIMIT
    assert provider.calls == 0 and outcome.cost == 0


async def test_context_error_compacts_once_then_gives_up(
    workspace: Path, recorder: Recorder
) -> None:
    (workspace / "big.txt").write_text("".join(f"row {i} " * 8 + "\n" for i in range(400)))
    too_long = turn(
        error=ScriptedError(message="prompt is too long", status=400, context_exceeded=True)
    )
    provider = ScriptedProvider(
        [
            turn("", call("view", path="big.txt")),
            turn("", call("view", path="README.md")),
            too_long,
            too_long,
        ]
    )
    outcome = await run([], workspace, recorder, provider=provider)
    assert outcome.exit_status is ExitStatus.CONTEXT_EXCEEDED
    assert recorder.states().count("compacted") == 1
    assert provider.calls == 4
    after = provider.requests[3]["messages"]
    first_result = after[2]["results"][0]
    assert first_result["elided"] and first_result["content"].startswith("[elided")


async def test_compaction_lets_the_task_continue(workspace: Path, recorder: Recorder) -> None:
    (workspace / "big.txt").write_text("".join(f"row {i} " * 8 + "\n" for i in range(400)))
    plan = [
        turn("", call("view", path="big.txt")),
        turn("", call("view", path="README.md")),
        turn(
            error=ScriptedError(
                message="context_length_exceeded", status=400, context_exceeded=True
            )
        ),
        FINISH,
    ]
    outcome = await run(plan, workspace, recorder)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    assert recorder.states().count("compacted") == 1


async def test_window_pressure_elides_old_results(workspace: Path, recorder: Recorder) -> None:
    (workspace / "big.txt").write_text("".join(f"line {i} of the big file\n" for i in range(300)))
    model = make_model(context_window=12_000, max_output=2_000)
    provider = ScriptedProvider([turn("", call("view", path="big.txt"))] * 5 + [FINISH])
    outcome = await run([], workspace, recorder, provider=provider, model=model)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    elided = [p for p in recorder.of(EventKind.STATUS) if p["state"] == "elided"]
    assert elided and elided[0]["reason"] == "pressure"


async def test_age_elision_happens_in_blocks_and_keeps_the_prefix_stable(
    workspace: Path, recorder: Recorder
) -> None:
    (workspace / "mid.txt").write_text("".join(f"some line number {i}\n" for i in range(80)))
    provider = ScriptedProvider([turn("", call("view", path="mid.txt"))] * 12 + [FINISH])
    policy = ContextPolicy(keep_recent=2, block=3, min_result_tokens=50)
    outcome = await run([], workspace, recorder, provider=provider, context_policy=policy)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    elisions = [p for p in recorder.of(EventKind.STATUS) if p["state"] == "elided"]
    assert elisions and all(p["reason"] == "age" and p["results"] >= 3 for p in elisions)
    breaks = 0
    for before, after in zip(provider.requests, provider.requests[1:], strict=False):
        old, new = before["messages"], after["messages"]
        if new[: len(old)] != old:
            breaks += 1
    assert breaks == len(elisions)  # the prefix changes only when a block is elided
    assert len(elisions) < len(provider.requests) / 2


async def test_unretryable_api_error(workspace: Path, recorder: Recorder) -> None:
    provider = ScriptedProvider(
        [turn(error=ScriptedError(message="invalid x-api-key", status=401))]
    )
    outcome = await run([], workspace, recorder, provider=provider)
    assert outcome.exit_status is ExitStatus.API_ERROR
    assert provider.calls == 1 and not recorder.of(EventKind.RETRY)
    errors = recorder.of(EventKind.ERROR)
    assert errors[-1]["fatal"] and "invalid x-api-key" in errors[-1]["message"]
    assert outcome.error and "invalid x-api-key" in outcome.error


async def test_retries_with_backoff_and_retry_after(workspace: Path, recorder: Recorder) -> None:
    sleeps = Sleeps()
    plan = [
        turn("partial", error=ScriptedError(message="Overloaded", status=529, retryable=True)),
        turn(
            error=ScriptedError(message="rate limited", status=429, retryable=True, retry_after=0.5)
        ),
        turn(error=ScriptedError(message="connection reset", retryable=True)),
        FINISH,
    ]
    outcome = await run(plan, workspace, recorder, retry=fast_retry(sleeps))
    assert outcome.exit_status is ExitStatus.SUBMITTED
    retries = recorder.of(EventKind.RETRY)
    assert [r["attempt"] for r in retries] == [1, 2, 3]
    assert [r["status"] for r in retries] == [529, 429, None]
    assert all(r["discard_partial"] for r in retries)
    assert sleeps.delays[1] >= 0.5  # retry-after honoured
    assert 0 <= sleeps.delays[0] <= 0.01 and 0 <= sleeps.delays[2] <= 0.04  # full jitter bounds
    assert outcome.steps == 1  # retries are not steps


async def test_retries_are_bounded(workspace: Path, recorder: Recorder) -> None:
    overloaded = turn(error=ScriptedError(message="Overloaded", status=529, retryable=True))
    provider = ScriptedProvider([overloaded], repeat=True)
    outcome = await run([], workspace, recorder, provider=provider, retry=fast_retry(max_retries=4))
    assert outcome.exit_status is ExitStatus.API_ERROR
    assert provider.calls == 5 and len(recorder.of(EventKind.RETRY)) == 4


async def test_retry_after_longer_than_the_retry_budget_gives_up(workspace: Path) -> None:
    sleeps = Sleeps()
    slow_down = turn(
        error=ScriptedError(message="rate limited", status=429, retryable=True, retry_after=3600)
    )
    outcome = await run([slow_down, FINISH], workspace, retry=fast_retry(sleeps))
    assert outcome.exit_status is ExitStatus.API_ERROR and sleeps.delays == []


async def test_failed_turns_are_billed(workspace: Path, recorder: Recorder) -> None:
    failing = turn(
        "half an answer",
        error=ScriptedError(message="stream cut", retryable=True),
        usage=Usage(input_tokens=5_000, cache_read_tokens=20_000),
    )
    outcome = await run([failing, FINISH], workspace, recorder)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    usage = recorder.of(EventKind.USAGE)
    assert [u["failed"] for u in usage] == [True, False]
    assert usage[0]["input_tokens"] == 5_000 and usage[0]["cache_read_tokens"] == 20_000
    assert usage[0]["output_tokens"] > 0
    assert outcome.cost == sum(Decimal(u["cost"]) for u in usage)
    assert outcome.usage.cache_read_tokens == 20_000


async def test_three_format_errors_in_a_row(workspace: Path, recorder: Recorder) -> None:
    chatty = turn("I think the answer is 42.")
    outcome = await run([chatty, chatty, chatty], workspace, recorder)
    assert outcome.exit_status is ExitStatus.FORMAT_ERROR
    nudges = [m for m in outcome.conversation if isinstance(m, UserMessage) and "No tool" in m.text]
    assert len(nudges) == 3
    assert [e["fatal"] for e in recorder.of(EventKind.ERROR)] == [False, False, True]


async def test_a_valid_call_resets_the_format_error_count(workspace: Path) -> None:
    chatty = turn("Hmm.")
    plan = [chatty, chatty, turn("", call("list_files")), chatty, chatty, FINISH]
    outcome = await run(plan, workspace)
    assert outcome.exit_status is ExitStatus.SUBMITTED


async def test_malformed_arguments_and_unknown_tools_are_format_errors(
    workspace: Path, recorder: Recorder
) -> None:
    plan = [
        turn("", ScriptedCall(name="view", raw_arguments='{"path": "README.md"')),
        turn("", call("delete_everything", path=".")),
        turn("", ScriptedCall(name="view", raw_arguments="[1, 2]")),
    ]
    outcome = await run(plan, workspace, recorder)
    assert outcome.exit_status is ExitStatus.FORMAT_ERROR
    results = [m for m in outcome.conversation if isinstance(m, ToolResultsMessage)]
    assert [r.results[0].is_error for r in results] == [True, True, True]
    assert (
        "JSON" in results[0].results[0].content and "Unknown tool" in results[1].results[0].content
    )


async def test_tool_call_cut_by_max_tokens_is_answered_and_not_run(workspace: Path) -> None:
    cut = turn(
        "Writing the file.",
        ScriptedCall(name="create", raw_arguments='{"path": "new.py", "content": "import os\\n'),
        stop_reason=StopReason.MAX_TOKENS,
    )
    outcome = await run([cut, FINISH], workspace)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    result = outcome.conversation[2]
    assert isinstance(result, ToolResultsMessage)
    assert result.results[0].is_error and "output limit" in result.results[0].content
    assert not (workspace / "new.py").exists()


async def test_pause_turn_continues_and_refusal_stops(workspace: Path) -> None:
    paused = await run(
        [turn("Working on it", stop_reason=StopReason.PAUSE_TURN), FINISH], workspace
    )
    assert paused.exit_status is ExitStatus.SUBMITTED
    refused = await run(
        [turn("I can't help with that.", stop_reason=StopReason.REFUSAL)], workspace
    )
    assert refused.exit_status is ExitStatus.API_ERROR and "refused" in refused.summary


async def test_read_only_modes_cannot_write(workspace: Path) -> None:
    provider = ScriptedProvider(
        [
            turn("", call("edit", path="README.md", old_str="Project", new_str="Pwned")),
            turn("", call("finish", summary="It greets people.")),
        ]
    )
    outcome = await run([], workspace, provider=provider, mode="ask", runner=SubprocessRunner())
    assert outcome.exit_status is ExitStatus.SUBMITTED
    assert provider.requests[0]["tools"] == ["view", "list_files", "search", "finish"]
    assert "read-only" in provider.requests[0]["system"]
    assert "Pwned" not in (workspace / "README.md").read_text()
    assert outcome.result_type is ResultType.ANALYSIS and outcome.changed_paths == []


async def test_resume_a_stored_conversation_with_a_follow_up(workspace: Path) -> None:
    first = await run([turn("", call("view", path="README.md")), FINISH], workspace)
    stored = json.loads(json.dumps(first.conversation_json()))
    provider = ScriptedProvider([turn("", call("finish", summary="Follow-up done."))])
    second = await run(
        [],
        workspace,
        provider=provider,
        conversation=conversation_from_json(stored),
        prompt="Also add a test.",
    )
    assert second.exit_status is ExitStatus.SUBMITTED and second.summary == "Follow-up done."
    sent = provider.requests[0]["messages"]
    assert sent[: len(stored)] == stored
    assert sent[-1] == {"role": "user", "text": "Also add a test."}


async def test_resume_repairs_a_conversation_cut_between_call_and_result(workspace: Path) -> None:
    broken = [
        UserMessage(text="task"),
        AssistantMessage(
            tool_calls=(ToolCall(id="c1", name="view", arguments={"path": "README.md"}),)
        ),
    ]
    provider = ScriptedProvider([FINISH])
    outcome = await run([], workspace, provider=provider, conversation=broken, prompt="continue")
    assert outcome.exit_status is ExitStatus.SUBMITTED
    repaired = provider.requests[0]["messages"][2]
    assert repaired["role"] == "tool" and repaired["results"][0]["is_error"]


async def test_repository_instructions_reach_the_system_prompt(workspace: Path) -> None:
    (workspace / "AGENTS.md").write_text("Always run `make check` before finishing.\n")
    provider = ScriptedProvider([FINISH])
    await run([], workspace, provider=provider, repo_map=True)
    system = provider.requests[0]["system"]
    assert "Always run `make check` before finishing." in system
    assert "src/app.py" in system  # the repository map
    assert ".git/" not in system


async def test_events_never_carry_secrets(workspace: Path, recorder: Recorder) -> None:
    (workspace / "config.env").write_text(
        "ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz\nDB_PASSWORD=hunter2-secret-pw\n"
    )
    plan = [
        turn("Key is sk-ant-api03-abcdefghijklmnopqrstuvwxyz", call("view", path="config.env")),
        FINISH,
    ]
    await run(plan, workspace, recorder, secrets=("hunter2-secret-pw",))
    dumped = json.dumps([e.as_dict() for e in recorder.events])
    assert "sk-ant-api03" not in dumped and "hunter2-secret-pw" not in dumped
    assert "***" in dumped


async def test_sync_emit_callbacks_work(workspace: Path) -> None:
    seen: list[str] = []
    outcome = await run_agent(
        ScriptedProvider([FINISH]),
        workspace,
        model=make_model(),
        prompt="hi",
        emit=lambda e: seen.append(e.kind.value),
        repo_map=False,
    )
    assert outcome.submitted and seen[0] == "status" and seen[-1] == "status"


async def test_cancel_event_mid_stream_keeps_the_partial_text(
    workspace: Path, recorder: Recorder
) -> None:
    cancel = asyncio.Event()
    slow = turn("streaming slowly " * 50, call("finish", summary="x"), delay=0.02, chunk_chars=8)
    task = asyncio.create_task(run([slow], workspace, recorder, cancel=cancel))
    await asyncio.sleep(0.2)
    cancel.set()
    outcome = await asyncio.wait_for(task, 5)
    assert outcome.exit_status is ExitStatus.CANCELLED
    last = outcome.conversation[-1]
    assert isinstance(last, AssistantMessage) and last.interrupted and not last.tool_calls
    assert last.text.startswith("streaming slowly")
    assert recorder.of(EventKind.STATUS)[-1]["exit_status"] == "cancelled"


def _busy_plan() -> list[Any]:
    """About a second of work: streamed text, commands, edits, in five steps."""
    return [
        turn(
            "Looking.",
            call("view", path="README.md"),
            call("run", command="sleep 0.25; echo a"),
            delay=0.01,
        ),
        turn(
            "More.", call("search", pattern="greet"), call("run", command="sleep 0.2"), delay=0.01
        ),
        turn("Edit.", call("edit", path="src/app.py", old_str="hello", new_str="hi"), delay=0.01),
        turn("Check.", call("run", command="sleep 0.2; cat src/app.py"), delay=0.01),
        FINISH,
    ]


@pytest.mark.parametrize("seed", range(8))
async def test_cancel_at_random_moments_leaves_a_well_formed_history(
    workspace: Path, seed: int
) -> None:
    import random

    delay = random.Random(seed).uniform(0.0, 1.0)
    cancel = asyncio.Event()
    task = asyncio.create_task(
        run(_busy_plan(), workspace, cancel=cancel, runner=SubprocessRunner(kill_grace=0.1))
    )
    await asyncio.sleep(delay)
    cancel.set()
    outcome = await asyncio.wait_for(task, 10)  # `run` checks both providers' formats
    assert outcome.exit_status in (ExitStatus.CANCELLED, ExitStatus.SUBMITTED)


@pytest.mark.parametrize("delay", [0.03, 0.2, 0.5])
async def test_task_cancellation_propagates_and_leaves_an_outcome(
    workspace: Path, delay: float
) -> None:
    agent = AgentRun(
        ScriptedProvider(_busy_plan()),
        workspace,
        model=make_model(),
        prompt="go",
        runner=SubprocessRunner(kill_grace=0.1),
        repo_map=False,
    )
    task = asyncio.create_task(agent.run())
    await asyncio.sleep(delay)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert agent.outcome is not None and agent.outcome.exit_status is ExitStatus.CANCELLED
    check_all(agent.outcome.conversation)


async def test_random_cancellation_really_lands_mid_run(workspace: Path) -> None:
    """Cancelling while a command runs: the call gets a result saying so, the rest too."""
    cancel = asyncio.Event()
    command_started = asyncio.Event()
    recorder = Recorder()

    async def emit(event: Any) -> None:
        await recorder(event)
        if event.kind is EventKind.TOOL_CALL and event.payload["name"] == "run":
            command_started.set()

    task = asyncio.create_task(
        run(
            _busy_plan(),
            workspace,
            emit=emit,
            cancel=cancel,
            runner=SubprocessRunner(kill_grace=0.1),
        )
    )
    await asyncio.wait_for(command_started.wait(), 5)
    await asyncio.sleep(0.05)
    cancel.set()
    outcome = await asyncio.wait_for(task, 10)
    assert outcome.exit_status is ExitStatus.CANCELLED
    results = outcome.conversation[-1]
    assert isinstance(results, ToolResultsMessage)
    assert results.results[-1].is_error and "Cancelled" in results.results[-1].content


async def test_a_reply_cut_before_any_call_gets_a_specific_nudge(workspace: Path) -> None:
    rambling = turn("On and on", stop_reason=StopReason.MAX_TOKENS)
    outcome = await run([rambling, FINISH], workspace)
    assert outcome.exit_status is ExitStatus.SUBMITTED
    nudge = outcome.conversation[2]
    assert isinstance(nudge, UserMessage) and "output limit" in nudge.text
