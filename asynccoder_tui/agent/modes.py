"""Modes: the system prompt, the tool set and the result type of each kind of task.

code, debug and documentation may change the workspace; ask, architect, review and plan are
read-only (their tool set has no edit, create, insert or run), matching
`domain.enums.TaskMode.read_only`. The system prompt is the stable prefix of every call (it is
cached), so it holds only what does not change during a task: the mode's instructions, the
repository's own instructions (`AGENTS.md`, `CLAUDE.md`) and a short map of the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from asynccoder_tui.agent.ignore import IgnoreMatcher, walk
from asynccoder_tui.agent.tools import ALL_TOOLS, READ_ONLY_TOOLS, tool_specs
from asynccoder_tui.domain.enums import ResultType, TaskMode

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
INSTRUCTIONS_MAX_CHARS = 20_000
REPO_MAP_MAX_ENTRIES = 200
REPO_MAP_DEPTH = 4

BASE_PROMPT = """\
You are Async Coder, an autonomous software engineer working alone in a git worktree of the \
user's repository. Nobody answers questions while you work: decide, act, and report at the end.

How to work:
- Use the tools; every reply must call at least one tool. Paths are relative to the workspace \
root. Explore with list_files, search and view before changing anything.
- Edit with exact text copied from view output (without the line numbers); if an edit fails, \
view the file again instead of guessing.
- Keep changes minimal and in the style of the surrounding code. Do not touch .git.
- Tool outputs from long ago may be elided to save space; view or run again if you need them.
- When done, call finish with a summary: what you did, how you verified it, what is left open.
"""

MODE_PROMPTS: dict[TaskMode, str] = {
    TaskMode.CODE: """\
Mode: code. Implement the requested change. Read the relevant code first, make the change, \
then verify it: run the tests or the narrowest command that exercises it, and fix what fails.""",
    TaskMode.DEBUG: """\
Mode: debug. Find the root cause of the reported problem before changing code: reproduce it \
with a command, form a hypothesis, confirm it, then fix it and show the reproduction passes.""",
    TaskMode.DOCUMENTATION: """\
Mode: documentation. Write or update documentation (README, docs/, docstrings, comments) so it \
matches what the code really does. Verify every claim against the code; change no behaviour.""",
    TaskMode.ASK: """\
Mode: ask (read-only). Answer the user's question about this repository. Investigate with the \
read-only tools, cite files and line numbers, and put the full answer in finish's summary.""",
    TaskMode.ARCHITECT: """\
Mode: architect (read-only). Study the code and propose a design for the request: components, \
data flow, files to change and why, risks and alternatives. Put the proposal in finish's summary.""",
    TaskMode.REVIEW: """\
Mode: review (read-only). Review the code the user points at (or the recent changes): \
correctness, security, tests, readability. List concrete findings with file:line and a \
suggested fix, most severe first, in finish's summary.""",
    TaskMode.PLAN: """\
Mode: plan (read-only). Break the request into small subtasks that another agent can each do \
alone in its own branch: a title, a precise prompt (files to change, how to verify), a role \
(coder, backend, frontend, database, ...) and the steps it depends on (1-based numbers). \
Independent subtasks run in parallel; avoid two of them editing the same lines. Finish with a \
summary holding exactly one fenced JSON block: ```json {"subtasks": [{"title": "...", \
"prompt": "...", "role": "coder", "depends_on": []}]} ```""",
}

RESULT_TYPES: dict[TaskMode, ResultType] = {
    TaskMode.CODE: ResultType.CODE_CHANGES,
    TaskMode.DEBUG: ResultType.CODE_CHANGES,
    TaskMode.DOCUMENTATION: ResultType.DOCUMENTATION,
    TaskMode.ASK: ResultType.ANALYSIS,
    TaskMode.ARCHITECT: ResultType.ANALYSIS,
    TaskMode.REVIEW: ResultType.REVIEW,
    TaskMode.PLAN: ResultType.PLAN,
}


@dataclass(frozen=True)
class ModeSpec:
    mode: TaskMode
    prompt: str
    tools: tuple[str, ...]
    read_only: bool
    result_type: ResultType


def mode_spec(mode: TaskMode | str) -> ModeSpec:
    """The spec of `mode` (a `TaskMode` or its value)."""
    task_mode = TaskMode(mode)
    tools = READ_ONLY_TOOLS if task_mode.read_only else ALL_TOOLS
    return ModeSpec(
        mode=task_mode,
        prompt=MODE_PROMPTS[task_mode],
        tools=tools,
        read_only=task_mode.read_only,
        result_type=RESULT_TYPES[task_mode],
    )


def load_instructions(root: Path) -> str | None:
    """The repository's agent instructions (`AGENTS.md`, then `CLAUDE.md`), capped."""
    parts: list[str] = []
    for name in INSTRUCTION_FILES:
        path = root / name
        try:
            if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
                continue
            if not path.is_file():
                continue
            with path.open("rb") as handle:  # a huge file is cut below: read no more than that
                data = handle.read(INSTRUCTIONS_MAX_CHARS * 4 + 4)
            text = data.decode("utf-8", errors="replace").strip()
        except (OSError, RuntimeError):  # unreadable, or a symlink loop (RuntimeError in 3.11)
            continue
        if text:
            parts.append(f"<{name}>\n{text}\n</{name}>")
    if not parts:
        return None
    joined = "\n\n".join(parts)
    if len(joined) > INSTRUCTIONS_MAX_CHARS:
        joined = joined[:INSTRUCTIONS_MAX_CHARS] + "\n[... instructions cut here ...]"
    return joined


def repository_map(root: Path, limit: int = REPO_MAP_MAX_ENTRIES) -> str:
    """Tracked-looking paths (ignored ones skipped), shallowest first, capped at `limit`."""
    entries: list[tuple[int, str]] = []
    matcher = IgnoreMatcher(root)
    for path, is_dir in walk(root, root, matcher, include_dirs=True, max_depth=REPO_MAP_DEPTH):
        relative = path.relative_to(root).as_posix()
        entries.append((relative.count("/"), relative + ("/" if is_dir else "")))
    entries.sort()
    shown = [name for _, name in entries[:limit]]
    shown.sort()
    more = len(entries) - len(shown)
    text = "\n".join(shown)
    if more > 0:
        text += f"\n[... {more} more paths: use list_files]"
    return text or "(empty repository)"


def build_system_prompt(
    mode: TaskMode | str,
    *,
    instructions: str | None = None,
    repo_map: str | None = None,
    role: str | None = None,
) -> str:
    """The system prompt for `mode`, with the agent role's own prompt (from the agents table),
    the repository's instructions and map when given."""
    spec = mode_spec(mode)
    sections = [BASE_PROMPT, spec.prompt]
    if role:
        sections.append("Your role:\n" + role.strip())
    if instructions:
        sections.append(
            "The repository's own instructions for agents (follow them unless the task says "
            "otherwise):\n" + instructions
        )
    if repo_map:
        sections.append(f"Repository files ({REPO_MAP_DEPTH} levels at most):\n" + repo_map)
    return "\n\n".join(sections)


def mode_prefix_tokens(mode: TaskMode | str, model_name: str = "gpt-4o") -> int:
    """Approximate tokens of the stable prefix (system prompt and tool schemas) of `mode`."""
    from asynccoder_tui.agent.tokens import count_tokens

    spec = mode_spec(mode)
    schemas = json.dumps([s.model_dump() for s in tool_specs(spec.tools)])
    prompt = build_system_prompt(mode, repo_map="x\n" * 60)
    return count_tokens(prompt, model_name).tokens + count_tokens(schemas, model_name).tokens
