"""A planner task's plan in the diff pane: its subtasks (role, title, the steps each waits for,
the state of its child) and progress; `A` approves a proposed plan, `E` edits it. A plan a
merge conflict or a failed subtask stopped says why, where the conflict is, and the keys that
go on (`M` resumes, `S` skips the subtask). Hidden without a plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.services.plans import Child, PlanView

STATUS_STYLE = {"proposed": "yellow", "approved": "cyan", "merged": "green",
                "conflict": "red", "failed": "red"}  # fmt: skip


RESUMABLE = {
    "conflict": "M resumes: merges again (a conflict is left in the parent's workspace to "
    "resolve) or commits your resolution  ·  S skips this subtask",
    "failed": "M resumes once the subtask is retried (r) or completes  ·  S skips it",
}


def _state(child: Child) -> str:
    if child.skipped:
        return "skipped"
    return "merged" if child.merged else child.status


def render_plan(view: PlanView) -> Text:
    text = Text.assemble(
        ("Plan: ", "bold"),
        (view.status, f"bold {STATUS_STYLE.get(view.status, '')}"),
        f"  ·  {view.progress}" if view.total else "",
    )
    if view.status == "proposed":
        text.append(f"  ·  {len(view.subtasks)} subtasks  ·  A approves  ·  E edits", style="dim")
    if view.problem:
        text.append("\n" + safe(view.problem.get("message", "")), style="red")
    if view.status in RESUMABLE:
        text.append("\n" + RESUMABLE[view.status], style="bold")
    by_step = {c.position: c for c in view.children}
    for step, sub in enumerate(view.subtasks, 1):
        child = by_step.get(step - 1)
        state = _state(child) if child else "proposed"
        after = f" after {', '.join(map(str, sub['depends_on']))}" if sub["depends_on"] else ""
        text.append(f"\n{step}. ", style="bold")
        text.append(f"[{sub['role']}] ", style="cyan")
        text.append(safe(sub["title"], 60) + after)
        text.append(f"  {state}", style="dim")
    return text


class PlanNotes(Static):
    """The plan of the shown task (hidden when it has none)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.plan: PlanView | None = None
        self.display = False

    def show_plan(self, view: PlanView | None) -> None:
        self.plan = view
        self.display = view is not None
        self.update(render_plan(view) if view is not None else "")
