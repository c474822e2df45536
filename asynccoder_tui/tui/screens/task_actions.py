"""The main screen's actions on tasks: new (and the demo), cancel, retry, follow up.

A mixin of `MainScreen`: it reads the screen's selection and panes and reports through the
app; each action runs in a worker and shows its result in the task's row and a toast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from textual import work

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.domain.models import Repository, Task
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.widgets.chat_pane import ChatPane
    from asynccoder_tui.tui.widgets.repos_pane import ReposPane
    from asynccoder_tui.tui.widgets.tasks_pane import TasksPane


class TaskActions:
    """Needs, from the screen: `ctx_app`, `built`, `selected`, `repository`, `repos`,
    `tasks`, `chat`, `_statuses`, `show_tasks`, `select_task_row`, `repos_refresh_soon`."""

    if TYPE_CHECKING:
        built: bool
        selected: Task | None
        repository: Repository | None
        _statuses: dict[UUID, TaskStatus]

        @property
        def ctx_app(self) -> AsyncCoderApp: ...
        @property
        def repos(self) -> ReposPane: ...
        @property
        def tasks(self) -> TasksPane: ...
        @property
        def chat(self) -> ChatPane: ...

        def show_tasks(self, fresh: list[Task]) -> None: ...
        def select_task_row(self, task_id: UUID) -> None: ...
        def repos_refresh_soon(self) -> None: ...
        def notify(self, message: str, **kwargs: object) -> None: ...

    # -- actions on tasks -------------------------------------------------------------------

    def action_new_task(self, *, model: str | None = None, prompt: str | None = None) -> None:
        from asynccoder_tui.tui.screens.new_task import NewTaskScreen

        if self.ctx_app.context is None or not self.built:
            self.notify("Still connecting to the database…", severity="warning")
            return
        self.ctx_app.push_screen(
            NewTaskScreen(
                repository=self.repository or self.repos.first_repository(),
                model=model,
                prompt=prompt,
            ),
            self._submitted,
        )

    def _submitted(self, task: Task | None) -> None:
        if task is None:
            return
        self._statuses[task.id] = task.status
        self.notify(
            f"{safe(task.title, 60)}  ·  {task.held_credits:,} credits held",
            title="Task queued",
            markup=False,
        )
        self.tasks.apply([task])
        self.select_task_row(task.id)
        self.tasks.focus_main()
        self.repos_refresh_soon()

    def _require_selected(self) -> Task | None:
        if self.selected is None:
            self.notify("Select a task first", severity="warning", timeout=3)
        return self.selected

    def action_cancel_task(self) -> None:
        task = self._require_selected()
        if task is not None:
            self.cancel_task(task.id)

    @work(group="task-action", exit_on_error=False)
    async def cancel_task(self, task_id: UUID) -> None:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("cancel the task"):
            task = await tasks.cancel(ctx, task_id)
            word = "Cancelling" if task.status is TaskStatus.RUNNING else "Cancelled"
            self.notify(f"{word}: {safe(task.title, 60)}", markup=False)
            self.show_tasks([task])

    def action_retry_task(self) -> None:
        task = self._require_selected()
        if task is not None:
            self.retry_task(task.id)

    @work(group="task-action", exit_on_error=False)
    async def retry_task(self, task_id: UUID) -> None:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("retry the task"):
            task = await tasks.retry(ctx, task_id)
            self.notify(f"Queued again: {safe(task.title, 60)}", markup=False)
            self.show_tasks([task])

    def action_follow_up(self) -> None:
        if self._require_selected() is not None:
            self.chat.action_focus_input()

    # -- the demo ---------------------------------------------------------------------------

    def start_demo(self) -> None:
        self._start_demo()

    @work(group="demo", exclusive=True, exit_on_error=False)
    async def _start_demo(self) -> None:
        from asynccoder_tui.services import onboarding

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("create the demo repository"):
            repo = await onboarding.create_demo(ctx)
            self.repository = repo
            self.repos.reload(select=repo.id)
            self.action_new_task(model=onboarding.DEMO_MODEL, prompt=onboarding.DEMO_PROMPT)
