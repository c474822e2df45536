"""A live change that makes a cell wider than its column (a pull request opened, a cost that
grew, a status that finished) widens the column instead of cutting the text."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from textual.app import App, ComposeResult
from textual.widgets._data_table import measure

from asynccoder_tui.domain.enums import PullRequestState, TaskStatus
from asynccoder_tui.domain.models import Task
from asynccoder_tui.tui.widgets.tasks_table import TasksTable


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TasksTable(id="tasks")


def _task(**changes: object) -> Task:
    base = Task(
        id=uuid4(), owner_id=uuid4(), repository_id=uuid4(), model="scripted:demo",
        title="Improve the README", prompt="p", status=TaskStatus.RUNNING,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    return base.model_copy(update=changes)


async def test_live_updates_widen_the_status_pr_cost_and_diff_columns() -> None:
    app = _TableApp()
    async with app.run_test(size=(160, 20)) as pilot:
        table = app.query_one(TasksTable)
        table.spin = False
        task = _task()
        table.apply([task])
        await pilot.pause()
        done = task.model_copy(
            update={
                "status": TaskStatus.COMPLETED,
                "cost": Decimal("12.3456"),
                "files_changed": 3,
                "lines_added": 1234,
                "lines_removed": 567,
                "pr_url": "https://github.com/acme/widgets/pull/12",
                "pr_state": PullRequestState.MERGED,
            }
        )
        table.apply([done])
        await pilot.pause()
        widths = {str(c.key.value): c.get_render_width(table) for c in table.columns.values()}
        row = table.get_row(str(task.id))
        keys = [str(k.value) for k in table.columns]
        for column in ("status", "pr", "cost", "diff"):
            cell = row[keys.index(column)]
            needed = measure(app.console, cell, 1000) + 2 * table.cell_padding
            assert widths[column] >= needed, f"{column} cut: {cell!r} in {widths[column]}"
