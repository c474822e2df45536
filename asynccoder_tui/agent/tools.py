"""The agent's tools over a workspace: their schemas and the dispatcher that runs them.

Tools: `view` (file with line numbers and ranges, or a directory tree), `list_files`
(`.gitignore` respected), `search` (regular expression, capped), `edit` (exact, unique string
replacement), `create`, `insert`, `run` (a shell command through the engine's `CommandRunner`)
and `finish` (end the task with a summary). One JSON schema per tool serves every provider.

Every path a model gives goes through `paths.resolve_in_workspace`; file work runs in a thread so
the event loop never blocks. A tool never raises for a bad call: it returns a `ToolOutput` with
`is_error=True` and a message that tells the model what went wrong and what to do.

`SubprocessRunner` (re-exported from `runner.py`) is the unsandboxed `CommandRunner`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asynccoder_tui.agent import file_tools, search
from asynccoder_tui.agent.paths import display_path, resolve_in_workspace, workspace_root
from asynccoder_tui.agent.providers.base import ToolSpec
from asynccoder_tui.agent.providers.messages import ToolCall
from asynccoder_tui.agent.runner import HeadTailBuffer, SubprocessRunner
from asynccoder_tui.domain.commands import CommandRunner
from asynccoder_tui.domain.errors import AsyncCoderError, ToolError

__all__ = [
    "ALL_TOOLS",
    "READ_ONLY_TOOLS",
    "SubprocessRunner",
    "ToolOutput",
    "WorkspaceTools",
    "tool_specs",
]

log = logging.getLogger(__name__)

RESULT_MAX_CHARS = 40_000
"""Cap on any one tool result the model reads (head and tail kept)."""

_PATH = {"type": "string", "description": "Path relative to the workspace root."}

TOOL_SPECS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="view",
            description=(
                "Show a text file with line numbers (optionally only start_line..end_line), or a "
                "directory as a tree two levels deep. Long files are capped; the output says "
                "how to read on."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "start_line": {"type": "integer", "description": "First line, 1-based."},
                    "end_line": {"type": "integer", "description": "Last line, inclusive."},
                },
                "required": ["path"],
            },
        ),
        ToolSpec(
            name="list_files",
            description=(
                "List files under a directory recursively, skipping what .gitignore ignores. "
                "Optionally filter with a glob such as '*.py' or 'src/**/test_*.py'."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "path": {**_PATH, "default": "."},
                    "glob": {"type": "string", "description": "Only paths matching this glob."},
                },
            },
        ),
        ToolSpec(
            name="search",
            description=(
                "Search file contents for a regular expression (Python/ripgrep syntax); "
                "returns path:line: text, capped. .gitignore and binary files are skipped."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "pattern": {"type": "string", "description": "Regular expression."},
                    "path": {**_PATH, "default": "."},
                    "glob": {"type": "string", "description": "Only files matching this glob."},
                    "ignore_case": {"type": "boolean", "default": False},
                    "max_results": {"type": "integer", "default": search.SEARCH_DEFAULT_RESULTS},
                },
                "required": ["pattern"],
            },
        ),
        ToolSpec(
            name="edit",
            description=(
                "Replace old_str with new_str in a file. old_str must match the file exactly "
                "once, including whitespace and indentation; copy it from view output (without "
                "the line numbers). Add surrounding lines to make it unique."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "old_str": {"type": "string", "description": "Exact text to replace."},
                    "new_str": {"type": "string", "description": "Replacement text."},
                },
                "required": ["path", "old_str", "new_str"],
            },
        ),
        ToolSpec(
            name="create",
            description=(
                "Create a file with the given content (parent directories are created). "
                "Refuses to replace an existing file unless overwrite is true."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "content": {"type": "string"},
                    "overwrite": {"type": "boolean", "default": False},
                },
                "required": ["path", "content"],
            },
        ),
        ToolSpec(
            name="insert",
            description="Insert text after a line of a file (line 0 inserts at the top).",
            parameters={
                "type": "object",
                "properties": {
                    "path": _PATH,
                    "line": {"type": "integer", "description": "Insert after this line."},
                    "text": {"type": "string"},
                },
                "required": ["path", "line", "text"],
            },
        ),
        ToolSpec(
            name="run",
            description=(
                "Run a shell command (sh -c) in the workspace root and return its exit code "
                "and output (head and tail kept when long). No stdin; processes left running "
                "are stopped when the command ends or times out."
            ),
            parameters={
                "type": "object",
                "properties": {
                    "command": {"type": "string"},
                    "timeout": {"type": "integer", "description": "Seconds (default 120)."},
                },
                "required": ["command"],
            },
        ),
        ToolSpec(
            name="finish",
            description=(
                "End the task. summary tells the user what was done (or the answer, for "
                "questions), what was verified and anything left open."
            ),
            parameters={
                "type": "object",
                "properties": {"summary": {"type": "string"}},
                "required": ["summary"],
            },
        ),
    )
}

ALL_TOOLS: tuple[str, ...] = tuple(TOOL_SPECS)
READ_ONLY_TOOLS: tuple[str, ...] = ("view", "list_files", "search", "finish")
WRITE_TOOLS = frozenset({"edit", "create", "insert"})


def tool_specs(names: Collection[str]) -> list[ToolSpec]:
    """The specs of `names`, in the canonical order."""
    return [TOOL_SPECS[name] for name in ALL_TOOLS if name in names]


@dataclass(frozen=True)
class ToolOutput:
    content: str
    is_error: bool = False
    finished: bool = False
    summary: str | None = None
    changed_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def cap_text(text: str, limit: int = RESULT_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    buffer = HeadTailBuffer(limit)
    buffer.write(text.encode("utf-8", "surrogatepass"))
    return buffer.text()


def _str_arg(args: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = args.get(name)
    if value is None:
        if required:
            raise ToolError(f"missing required argument '{name}'")
        return None
    if not isinstance(value, str):
        raise ToolError(f"argument '{name}' must be a string, not {type(value).__name__}")
    return value


def _int_arg(args: Mapping[str, Any], name: str, *, required: bool = False) -> int | None:
    value = args.get(name)
    if value is None:
        if required:
            raise ToolError(f"missing required argument '{name}'")
        return None
    if isinstance(value, bool):
        raise ToolError(f"argument '{name}' must be an integer")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int):
        raise ToolError(f"argument '{name}' must be an integer")
    return value


class WorkspaceTools:
    """Runs tool calls against one workspace."""

    def __init__(
        self,
        root: Path | str,
        runner: CommandRunner | None = None,
        *,
        allowed: Collection[str] = ALL_TOOLS,
        command_timeout: float = 120.0,
        max_command_timeout: float = 600.0,
        command_output_limit: int = 30_000,
        use_ripgrep: bool = True,
    ) -> None:
        self.root = workspace_root(root)
        self.runner = runner
        self.allowed = tuple(name for name in ALL_TOOLS if name in allowed)
        if "run" in self.allowed and runner is None:
            self.allowed = tuple(name for name in self.allowed if name != "run")
        self.command_timeout = command_timeout
        self.max_command_timeout = max_command_timeout
        self.command_output_limit = command_output_limit
        self.use_ripgrep = use_ripgrep
        self._handlers: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "view": self._view,
            "list_files": self._list_files,
            "search": self._search,
            "edit": self._edit,
            "create": self._create,
            "insert": self._insert,
            "run": self._run,
            "finish": self._finish,
        }

    def specs(self) -> list[ToolSpec]:
        return tool_specs(self.allowed)

    async def call(self, call: ToolCall) -> ToolOutput:
        """Run one call; refusals and failures come back as error outputs, never raised."""
        if call.arguments_error is not None:
            return ToolOutput(
                f"Tool call not run: {call.arguments_error}. Send the arguments as one JSON "
                "object matching the tool's schema.",
                is_error=True,
            )
        if call.name not in TOOL_SPECS:
            return ToolOutput(
                f"Unknown tool '{call.name}'. Available tools: {', '.join(self.allowed)}.",
                is_error=True,
            )
        if call.name not in self.allowed:
            return ToolOutput(
                f"Tool '{call.name}' is not available in this task (read-only or no command "
                f"runner). Available tools: {', '.join(self.allowed)}.",
                is_error=True,
            )
        try:
            output: ToolOutput = await self._handlers[call.name](call.arguments)
        except AsyncCoderError as err:
            return ToolOutput(str(err), is_error=True)
        except OSError as err:
            return ToolOutput(f"{call.name} failed: {err.strerror or err}", is_error=True)
        except Exception as err:  # a bug in a tool must not end the task: the model is told
            log.exception("tool %s failed unexpectedly", call.name)
            return ToolOutput(
                f"{call.name} failed unexpectedly ({type(err).__name__}: {err}); try another way",
                is_error=True,
            )
        return ToolOutput(
            cap_text(output.content).replace("\x00", "\ufffd"),
            is_error=output.is_error,
            finished=output.finished,
            summary=output.summary,
            changed_path=output.changed_path,
            extra=output.extra,
        )

    def _path(self, args: Mapping[str, Any], *, default: str | None = None) -> tuple[Path, str]:
        raw = _str_arg(args, "path", required=default is None) or default or "."
        path = resolve_in_workspace(self.root, raw)
        return path, display_path(self.root, path)

    async def _view(self, args: Mapping[str, Any]) -> ToolOutput:
        path, shown = self._path(args)
        start, end = _int_arg(args, "start_line"), _int_arg(args, "end_line")
        if not path.exists():
            raise ToolError(f"{shown} does not exist; use list_files to see what is there")
        if path.is_dir():
            return ToolOutput(await asyncio.to_thread(search.directory_tree, self.root, path))
        return ToolOutput(await asyncio.to_thread(file_tools.view_file, path, shown, start, end))

    async def _list_files(self, args: Mapping[str, Any]) -> ToolOutput:
        path, _ = self._path(args, default=".")
        glob = _str_arg(args, "glob", required=False)
        return ToolOutput(await asyncio.to_thread(search.list_files, self.root, path, glob))

    async def _search(self, args: Mapping[str, Any]) -> ToolOutput:
        pattern = _str_arg(args, "pattern") or ""
        path, _ = self._path(args, default=".")
        limit = _int_arg(args, "max_results") or search.SEARCH_DEFAULT_RESULTS
        text = await search.search(
            self.root,
            path,
            pattern,
            glob=_str_arg(args, "glob", required=False),
            ignore_case=bool(args.get("ignore_case", False)),
            limit=limit,
            use_ripgrep=self.use_ripgrep,
        )
        return ToolOutput(text)

    async def _edit(self, args: Mapping[str, Any]) -> ToolOutput:
        path, shown = self._path(args)
        old = _str_arg(args, "old_str")
        new = _str_arg(args, "new_str")
        assert old is not None and new is not None
        text = await asyncio.to_thread(file_tools.replace_once, path, shown, old, new)
        return ToolOutput(text, changed_path=shown)

    async def _create(self, args: Mapping[str, Any]) -> ToolOutput:
        path, shown = self._path(args)
        content = _str_arg(args, "content")
        assert content is not None
        overwrite = bool(args.get("overwrite", False))
        text = await asyncio.to_thread(file_tools.create_file, path, shown, content, overwrite)
        return ToolOutput(text, changed_path=shown)

    async def _insert(self, args: Mapping[str, Any]) -> ToolOutput:
        path, shown = self._path(args)
        line = _int_arg(args, "line", required=True)
        text = _str_arg(args, "text")
        assert line is not None and text is not None
        result = await asyncio.to_thread(file_tools.insert_lines, path, shown, line, text)
        return ToolOutput(result, changed_path=shown)

    async def _run(self, args: Mapping[str, Any]) -> ToolOutput:
        command = (_str_arg(args, "command") or "").strip()
        if not command:
            raise ToolError("command is empty")
        assert self.runner is not None
        requested = _int_arg(args, "timeout")
        timeout = float(requested) if requested and requested > 0 else self.command_timeout
        timeout = min(timeout, self.max_command_timeout)
        result = await self.runner.run(
            command, cwd=self.root, timeout=timeout, output_limit=self.command_output_limit
        )
        output = result.output.rstrip() or "(no output)"
        if result.timed_out:
            head = (
                f"command timed out after {timeout:g} s; it and every process it started were "
                "killed. Output so far:"
            )
            return ToolOutput(
                f"{head}\n{output}", is_error=True, extra={"timed_out": True, "exit_code": None}
            )
        if result.cancelled:
            return ToolOutput(f"command was cancelled. Output so far:\n{output}", is_error=True)
        head = f"exit code {result.exit_code} ({result.duration:.1f} s)"
        return ToolOutput(
            f"{head}\n{output}",
            extra={"exit_code": result.exit_code, "truncated": result.truncated},
        )

    async def _finish(self, args: Mapping[str, Any]) -> ToolOutput:
        summary = (_str_arg(args, "summary") or "").strip()
        if not summary:
            raise ToolError("summary is empty; say what was done")
        return ToolOutput("Task finished.", finished=True, summary=summary)
