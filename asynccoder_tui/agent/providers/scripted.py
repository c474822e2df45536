"""A provider that replays a plan of turns: for the demo, and for tests of everything above it.

A plan is a list of turns; each call to `stream` plays the next one. A turn is a `ScriptedTurn`
(or a dict of its fields, or a function of the conversation so far that returns one): text to
stream, tool calls to make, and optionally an error to raise after streaming (to exercise
retries and billing of failed turns), a stop reason, usage, and a delay between text chunks.

Usage is reported like a real provider: input tokens counted from the rendered request, output
tokens from what was streamed, and output is cut at the call's `max_output_tokens` (the turn
then stops with `max_tokens`), so cost limits are exercised honestly.

Model names `scripted:<name>` select a built-in plan (see `NAMED_PLANS`): `demo` views a file,
edits it, runs a command and finishes; `echo` repeats the prompt; `fail` fails every call;
`slow` streams slowly and runs a slow command (for cancelling); `flaky` is overloaded, then rate
limited, then answers; `loop` never finishes; `reviewer` approves and `reviewer-changes` asks for
changes (each finishing with a review's fenced JSON block); `writer` creates the files its prompt
names in `write PATH: TEXT` lines; `planner` proposes three writer subtasks (the third depends on
the first two) and `planner-conflict` two that write the same file. `scripted:@/path/plan.json` loads a plan file.
"""

from __future__ import annotations

import asyncio
import json
import re
import stat
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from asynccoder_tui.agent.providers.base import (
    ProviderEvent,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolSpec,
    TurnDone,
    Usage,
    UsageUpdate,
    parse_tool_arguments,
)
from asynccoder_tui.agent.providers.messages import (
    Message,
    ToolResultsMessage,
    UserMessage,
    conversation_to_json,
)
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ConfigError, ProviderError


class ScriptedCall(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    """Sent instead of `arguments` when set (to script malformed JSON)."""
    id: str | None = None


class ScriptedError(BaseModel):
    message: str = "scripted provider error"
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None
    context_exceeded: bool = False


class ScriptedTurn(BaseModel):
    text: str = ""
    tool_calls: list[ScriptedCall] = Field(default_factory=list)
    stop_reason: StopReason | None = None
    error: ScriptedError | None = None
    usage: Usage | None = None
    delay: float = 0.0
    """Seconds to wait before each streamed chunk."""
    chunk_chars: int = 24


TurnSource = ScriptedTurn | dict[str, Any] | Callable[[Sequence[Message]], ScriptedTurn]


def _as_turn(source: TurnSource, messages: Sequence[Message]) -> ScriptedTurn:
    if isinstance(source, ScriptedTurn):
        return source
    if isinstance(source, dict):
        return ScriptedTurn.model_validate(source)
    return source(messages)


class ScriptedProvider:
    """Replays `plan`; after the last turn it fails (or repeats the last turn with `repeat`)."""

    def __init__(
        self,
        plan: Sequence[TurnSource],
        *,
        model_name: str = "scripted",
        repeat: bool = False,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.plan = list(plan)
        self._model_name = model_name
        self.repeat = repeat
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        """What each call received (system, messages as JSON, tool names, limits)."""
        self._count = count_tokens or _default_count

    @property
    def kind(self) -> ProviderKind:
        return ProviderKind.SCRIPTED

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def supports_prompt_cache(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None

    def _next_turn(self, messages: Sequence[Message]) -> ScriptedTurn:
        index = self.calls
        self.calls += 1
        if index >= len(self.plan):
            if not self.repeat or not self.plan:
                raise ProviderError(
                    f"scripted plan '{self._model_name}' has no turn {index + 1}",
                    hint="the plan ended before the agent finished",
                )
            index = len(self.plan) - 1
        return _as_turn(self.plan[index], messages)

    async def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]:
        request_json = conversation_to_json(messages)
        self.requests.append(
            {
                "system": system,
                "messages": request_json,
                "tools": [t.name for t in tools],
                "max_output_tokens": limits.max_output_tokens,
            }
        )
        turn = self._next_turn(messages)
        tool_json = json.dumps([t.model_dump() for t in tools])
        input_tokens = (
            self._count(system) + self._count(json.dumps(request_json)) + self._count(tool_json)
        )
        budget = limits.max_output_tokens
        spent = 0
        usage = Usage(input_tokens=input_tokens)
        if turn.usage is not None:
            usage = turn.usage.model_copy(update={"output_tokens": 0})
        yield UsageUpdate(usage)
        truncated = False
        for piece in _chunks(turn.text, turn.chunk_chars):
            if turn.delay:
                await asyncio.sleep(turn.delay)
            cost = self._count(piece)
            if spent + cost > budget:
                truncated = True
                break
            spent += cost
            yield TextDelta(piece)
        if turn.error is not None:
            yield UsageUpdate(usage.model_copy(update={"output_tokens": spent}))
            raise ProviderError(
                turn.error.message,
                retryable=turn.error.retryable,
                status=turn.error.status,
                retry_after=turn.error.retry_after,
                context_exceeded=turn.error.context_exceeded,
            )
        calls = 0
        for number, call in enumerate(turn.tool_calls if not truncated else []):
            call_id = call.id or f"call_{uuid.uuid4().hex[:16]}"
            raw = (
                call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
            )
            cost = self._count(raw) + 8
            if spent + cost > budget:
                truncated = True
                break
            spent += cost
            yield ToolCallStarted(number, call_id, call.name)
            yield ToolArgumentsDelta(number, call_id, raw)
            yield ToolCallReady(parse_tool_arguments(call_id, call.name, raw))
            calls += 1
        if turn.usage is not None:
            final = turn.usage
        else:
            final = usage.model_copy(update={"output_tokens": max(1, spent)})
        yield UsageUpdate(final)
        if truncated:
            stop = StopReason.MAX_TOKENS
        else:
            stop = turn.stop_reason or (StopReason.TOOL_USE if calls else StopReason.END_TURN)
        yield TurnDone(stop, final, raw_stop_reason=stop.value)


def _default_count(text: str) -> int:
    from asynccoder_tui.agent.tokens import count_tokens

    return count_tokens(text).tokens


def _chunks(text: str, size: int) -> list[str]:
    if not text:
        return []
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _last_prompt(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if isinstance(message, UserMessage):
            return message.text
    return ""


def _last_result(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if isinstance(message, ToolResultsMessage) and message.results:
            return message.results[-1].content
    return ""


def _call(name: str, **arguments: Any) -> ScriptedCall:
    return ScriptedCall(name=name, arguments=arguments)


DEMO_NOTE = "Touched by the Async Coder demo."


def _demo_pick(messages: Sequence[Message]) -> ScriptedTurn:
    listing = _last_result(messages).splitlines()[1:]
    names = [line.strip() for line in listing if line.strip() and not line.startswith("[")]
    readme = next((n for n in names if re.fullmatch(r"README(\.\w+)?", n, re.IGNORECASE)), None)
    if readme is None:
        return ScriptedTurn(
            text="There is no README here, so I will create a short notes file.",
            tool_calls=[_call("create", path="DEMO_NOTES.md", content=f"# Demo\n\n{DEMO_NOTE}\n")],
        )
    return ScriptedTurn(
        text=f"Let me read {readme} first.",
        tool_calls=[_call("view", path=readme)],
    )


def _demo_edit(messages: Sequence[Message]) -> ScriptedTurn:
    result = _last_result(messages)
    header = result.splitlines()[0] if result else ""
    match = re.match(r"(\S+) \(lines \d+-\d+ of (\d+)", header)
    if match:
        path, total = match.group(1), int(match.group(2))
        return ScriptedTurn(
            text=f"I will add a note at the end of {path}.",
            tool_calls=[_call("insert", path=path, line=total, text=f"\n{DEMO_NOTE}")],
        )
    if header.startswith("Created "):
        return ScriptedTurn(
            text="Now I will refine the note.",
            tool_calls=[
                _call("edit", path="DEMO_NOTES.md", old_str="# Demo", new_str="# Demo notes")
            ],
        )
    return ScriptedTurn(
        text="The file is empty; I will create a notes file instead.",
        tool_calls=[_call("create", path="DEMO_NOTES.md", content=f"# Demo\n\n{DEMO_NOTE}\n")],
    )


DEMO_PLAN: list[TurnSource] = [
    ScriptedTurn(
        text="I'll start by looking at the files in this repository.",
        tool_calls=[_call("list_files", path=".")],
    ),
    _demo_pick,
    _demo_edit,
    ScriptedTurn(
        text="Let me check the working tree.",
        tool_calls=[_call("run", command="git status --short 2>/dev/null || ls -la")],
    ),
    ScriptedTurn(
        text="Done.",
        tool_calls=[
            _call(
                "finish",
                summary=(
                    "Demo run: listed the files, read one, added a one-line note to it and "
                    "checked the working tree. No real work was requested."
                ),
            )
        ],
    ),
]


def _echo(messages: Sequence[Message]) -> ScriptedTurn:
    prompt = _last_prompt(messages)
    return ScriptedTurn(
        text=f"You said: {prompt}",
        tool_calls=[_call("finish", summary=prompt or "(empty prompt)")],
    )


def _review_plan(verdict: dict[str, Any]) -> list[TurnSource]:
    """A reviewer that lists the files, then finishes with `verdict` as a fenced JSON block."""
    block = json.dumps(verdict, indent=1)
    return [
        ScriptedTurn(text="Reading the change.", tool_calls=[_call("list_files", path=".")]),
        ScriptedTurn(
            text="Review done.",
            tool_calls=[_call("finish", summary=f"Review.\n\n```json\n{block}\n```")],
        ),
    ]


REVIEW_APPROVED = {
    "status": "approved",
    "summary": "The change is small, clear and safe.",
    "quality_score": 0.9,
    "security_score": 1.0,
    "issues": [],
    "suggestions": [{"file": "README.md", "line": 1, "message": "Consider a longer title."}],
}
REVIEW_CHANGES = {
    "status": "changes_requested",
    "summary": "The note is in the wrong place.",
    "quality_score": 0.4,
    "security_score": 0.9,
    "issues": [
        {"file": "README.md", "line": 3, "severity": "medium",
         "message": "Move the note under its own heading."}
    ],
    "suggestions": [],
}  # fmt: skip


def _first_prompt(messages: Sequence[Message]) -> str:
    for message in messages:
        if isinstance(message, UserMessage):
            return message.text
    return ""


def _write(messages: Sequence[Message]) -> ScriptedTurn:
    """Writes each `write PATH: TEXT` line of the task's prompt as a new file."""
    files = re.findall(r"^write (\S+): (.*)$", _first_prompt(messages), re.MULTILINE)
    if not files:
        return ScriptedTurn(
            text="Nothing to write.", tool_calls=[_call("finish", summary="No file was named.")]
        )
    return ScriptedTurn(
        text="Writing the files.",
        tool_calls=[_call("create", path=path, content=f"{text}\n") for path, text in files],
    )


WRITER_PLAN: list[TurnSource] = [
    _write,
    ScriptedTurn(text="Done.", tool_calls=[_call("finish", summary="Wrote the files.")]),
]


def _planner_plan(subtasks: list[dict[str, Any]]) -> list[TurnSource]:
    block = json.dumps({"subtasks": subtasks}, indent=1)
    return [
        ScriptedTurn(text="Reading the repository.", tool_calls=[_call("list_files", path=".")]),
        ScriptedTurn(
            text="Here is the plan.",
            tool_calls=[_call("finish", summary=f"A plan.\n\n```json\n{block}\n```")],
        ),
    ]


PLANNER_SUBTASKS: list[dict[str, Any]] = [
    {
        "title": "Alpha module",
        "prompt": "write alpha.txt: alpha",
        "role": "backend",
        "depends_on": [],
        "model": "scripted:writer",
    },
    {
        "title": "Beta module",
        "prompt": "write beta.txt: beta",
        "role": "frontend",
        "depends_on": [],
        "model": "scripted:writer",
    },
    {
        "title": "Gamma joins them",
        "prompt": "write gamma.txt: gamma",
        "role": "coder",
        "depends_on": [1, "Beta module"],
        "model": "scripted:writer",
    },
]
PLANNER_CONFLICT_SUBTASKS: list[dict[str, Any]] = [
    {"title": "One way", "prompt": "write same.txt: one", "depends_on": [],
     "model": "scripted:writer"},
    {"title": "Another way", "prompt": "write same.txt: two", "depends_on": [],
     "model": "scripted:writer"},
]  # fmt: skip


NAMED_PLANS: dict[str, Callable[[], tuple[list[TurnSource], bool]]] = {
    "writer": lambda: (list(WRITER_PLAN), False),
    "planner": lambda: (_planner_plan(PLANNER_SUBTASKS), False),
    "planner-conflict": lambda: (_planner_plan(PLANNER_CONFLICT_SUBTASKS), False),
    "reviewer": lambda: (_review_plan(REVIEW_APPROVED), False),
    "reviewer-changes": lambda: (_review_plan(REVIEW_CHANGES), False),
    "demo": lambda: (list(DEMO_PLAN), False),
    "echo": lambda: ([_echo], False),
    "fail": lambda: (
        [
            ScriptedTurn(
                error=ScriptedError(
                    message="scripted:fail refuses every call (simulated 401)", status=401
                )
            )
        ],
        True,
    ),
    "slow": lambda: (
        [
            ScriptedTurn(
                text="Thinking slowly about this task, one word at a time, so there is "
                "plenty of time to watch the stream or to cancel it. ",
                chunk_chars=6,
                delay=0.2,
                tool_calls=[_call("run", command="sleep 5; echo slept")],
            ),
            ScriptedTurn(
                text="Still here. ",
                delay=0.2,
                tool_calls=[_call("finish", summary="Slow demo finished.")],
            ),
        ],
        False,
    ),
    "flaky": lambda: (
        [
            ScriptedTurn(
                text="Starting",
                error=ScriptedError(
                    message="overloaded (simulated 529)", status=529, retryable=True
                ),
            ),
            ScriptedTurn(
                error=ScriptedError(
                    message="rate limited (simulated 429)",
                    status=429,
                    retryable=True,
                    retry_after=1.0,
                )
            ),
            _echo,
        ],
        False,
    ),
    "loop": lambda: (
        [ScriptedTurn(text="Looking around again.", tool_calls=[_call("list_files", path=".")])],
        True,
    ),
}


PLAN_MAX_BYTES = 10 * 1024 * 1024


def _read_plan_file(path: Path) -> Any:
    """The JSON of a plan file: a regular file of at most `PLAN_MAX_BYTES` (a FIFO would block
    and a device such as /dev/zero would never end)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"scripted plan {path} is not a regular file")
        if info.st_size > PLAN_MAX_BYTES:
            raise ConfigError(
                f"scripted plan {path} is {info.st_size:,} bytes, over {PLAN_MAX_BYTES:,}"
            )
        return json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else err
        raise ConfigError(f"cannot read scripted plan {path}: {reason}") from None


def scripted_provider_for(name: str) -> ScriptedProvider:
    """The provider for a model name `scripted:<plan>` or `scripted:@<plan.json>`."""
    _, _, plan_name = name.partition(":")
    plan_name = plan_name.strip() or "demo"
    if plan_name.startswith("@"):
        path = Path(plan_name[1:]).expanduser()
        data = _read_plan_file(path)
        turns = data.get("turns", data) if isinstance(data, dict) else data
        repeat = bool(data.get("repeat", False)) if isinstance(data, dict) else False
        if not isinstance(turns, list):
            raise ConfigError(f"scripted plan {path} must be a list of turns")
        try:
            plan: list[TurnSource] = [ScriptedTurn.model_validate(turn) for turn in turns]
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
            )
            raise ConfigError(f"scripted plan {path} has invalid turns: {problems}") from None
        return ScriptedProvider(plan, model_name=name, repeat=repeat)
    factory = NAMED_PLANS.get(plan_name)
    if factory is None:
        known = ", ".join(f"scripted:{n}" for n in NAMED_PLANS)
        raise ConfigError(f"unknown scripted plan '{plan_name}'", hint=f"known plans: {known}")
    turns_list, repeat_last = factory()
    return ScriptedProvider(turns_list, model_name=name, repeat=repeat_last)
