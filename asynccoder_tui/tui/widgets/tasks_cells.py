"""The tasks table's cells and row rules: the status cell (which carries the row's sort key),
the title with a plan's progress, the pull-request cell, and which tasks a filter admits."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from asynccoder_tui.domain.models import Task
from asynccoder_tui.domain.queries import TaskFilter
from asynccoder_tui.tui.format import safe

TITLE_CHARS = 32


class StatusCell:
    """The status cell; it also carries the row's sort key (DataTable sorts on cell values)."""

    __slots__ = ("order", "text")

    def __init__(self, text: Text, order: tuple[object, ...]) -> None:
        self.text = text
        self.order = order

    def __rich__(self) -> Text:
        return self.text


def matches(filters: TaskFilter, task: Task) -> bool:
    """Whether a task belongs in a list with `filters` (text search cannot be told here)."""
    if filters.text or filters.parent_id or filters.ids:
        return False
    if filters.repository_id and task.repository_id != filters.repository_id:
        return False
    if filters.statuses and task.status not in filters.statuses:
        return False
    return not (filters.mode and task.mode is not filters.mode)


def title_cell(task: Task) -> Text:
    """The title, and beside a plan's parent its children's progress (`2/5`)."""
    text = Text(safe(task.title, TITLE_CHARS))
    if task.children_total:
        done = task.children_done == task.children_total
        text.append(f"  {task.children_done}/{task.children_total}", "green" if done else "cyan")
    return text


def pr_cell(task: Task) -> Text:
    if task.pr_state is None:
        return Text("")
    number = (task.pr_url or "").rstrip("/").rsplit("/", 1)[-1]
    label = f"#{number} {task.pr_state.value}" if number.isdigit() else task.pr_state.value
    style = Style(color="magenta" if task.pr_state.value == "merged" else "cyan")
    if task.pr_url and task.pr_url.startswith("https://"):
        style += Style(link=safe(task.pr_url))
    return Text(label, style=style)
