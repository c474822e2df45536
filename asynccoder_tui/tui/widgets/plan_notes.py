"""A planner task's plan in the diff pane: its subtasks (role, title, the steps each waits for,
the state of its child) and progress; `A` approves a proposed plan. Hidden without a plan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.services.plans import PlanView

STATUS_STYLE = {"proposed": "yellow", "approved": "cyan", "merged": "green",
                "conflict": "red", "failed": "red"}  # fmt: skip


def render_plan(view: PlanView) -> Text:
    text = Text.assemble(
        ("Plan: ", "bold"),
        (view.status, f"bold {STATUS_STYLE.get(view.status, '')}"),
        f"  ·  {view.done}/{view.total} subtasks merged" if view.total else "",
    )
    if view.status == "proposed":
        text.append(f"  ·  {len(view.subtasks)} subtasks  ·  A approves", style="dim")
    if view.problem:
        text.append("\n" + safe(view.problem.get("message", "")), style="red")
    by_step = {c.position: c for c in view.children}
    for step, sub in enumerate(view.subtasks, 1):
        child = by_step.get(step - 1)
        state = ("merged" if child.merged else child.status) if child else "proposed"
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
