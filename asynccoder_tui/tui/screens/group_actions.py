"""The main screen's actions on groups of tasks: best-of-N attempts side by side (`B`) and
resuming a plan a merge conflict stopped (`M` continues, `S` skips the stopping subtask).

A mixin of `MainScreen`, like `TaskActions`: it reads the screen's selection and reports
through the app; the attempts screen above it hears of task changes through `_forward_live`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from textual import work

from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.domain.models import Task
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.widgets.review_pane import ReviewPane


class GroupActions:
    """Needs, from the screen: `ctx_app`, `selected`, `review`, `notify`."""

    if TYPE_CHECKING:
        selected: Task | None

        @property
        def ctx_app(self) -> AsyncCoderApp: ...
        @property
        def review(self) -> ReviewPane: ...

        def notify(self, message: str, **kwargs: object) -> None: ...

    def _forward_live(self, task_ids: frozenset[UUID]) -> None:
        """Screens above this one that show tasks (the attempts) re-read what changed."""
        for screen in self.ctx_app.screen_stack:
            live_changed = getattr(screen, "live_changed", None)
            if screen is not self and callable(live_changed):
                live_changed(task_ids)

    # -- best-of-N and plans ----------------------------------------------------------------

    def action_attempts(self) -> None:
        """`B`: the selected task's attempt group side by side."""
        if self.selected is None or self.ctx_app.context is None:
            self.notify("Select a task first", severity="warning", timeout=3)
            return
        self.open_attempts(self.selected.id)

    @work(group="attempts-open", exclusive=True, exit_on_error=False)
    async def open_attempts(self, task_id: UUID) -> None:
        from asynccoder_tui.services import attempts
        from asynccoder_tui.tui.screens.attempts import AttemptsScreen

        ctx = self.ctx_app.context
        if ctx is None:
            return
        try:
            rows = await attempts.list_attempts(ctx, task_id)
        except NotFoundError:
            self.notify(
                "This task is not one of several attempts (new task, Attempts 2 to 4)",
                severity="warning",
                timeout=4,
            )
            return
        except Exception as err:
            self.ctx_app.report_error(err, "read the attempts")
            return
        self.ctx_app.push_screen(AttemptsScreen(task_id, rows))

    def action_resume_plan(self, action: str) -> None:
        """`M` / `S`: go on with the selected task's stopped plan, or skip what stopped it."""
        task = self.selected
        if task is None or self.ctx_app.context is None:
            self.notify("Select a planner task first", severity="warning", timeout=3)
            return
        self.ask_resume_plan(task.id, action)

    @work(group="plan-resume-ask", exclusive=True, exit_on_error=False)
    async def ask_resume_plan(self, task_id: UUID, action: str) -> None:
        """Ask to confirm only when the task's plan is stopped; otherwise say why not."""
        from asynccoder_tui.services import plans
        from asynccoder_tui.tui.screens.dialogs import Confirm

        ctx = self.ctx_app.context
        if ctx is None:
            return
        try:
            view = await plans.show_plan(ctx, task_id)
        except NotFoundError:
            self.notify(
                f"Task {str(task_id)[:8]} has no plan to resume (new task, Plan first)",
                severity="warning", timeout=4, markup=False,
            )  # fmt: skip
            return
        except Exception as err:
            self.ctx_app.report_error(err, "read the plan")
            return
        if view.status not in ("conflict", "failed"):
            self.notify(
                f"The plan is {view.status}: only a plan a conflict or a failed subtask "
                "stopped can be resumed", severity="warning", timeout=4, markup=False,
            )  # fmt: skip
            return
        question, detail = (
            ("Resume the plan?", "The stopping subtask is merged again (or your resolution in "
             "the parent's workspace committed); a new conflict is left there to resolve.")
            if action == "continue"
            else ("Skip the subtask that stopped the plan?", "Its changes are left out; the "
                  "subtasks waiting for it run without them.")
        )  # fmt: skip
        self.ctx_app.push_screen(
            Confirm(question, detail, yes="Resume" if action == "continue" else "Skip"),
            lambda yes: self._resume_confirmed(task_id, action, yes),
        )

    def _resume_confirmed(self, task_id: UUID, action: str, yes: bool | None) -> None:
        if yes:
            self.resume_plan(task_id, action)

    @work(group="plan-resume", exclusive=True, exit_on_error=False)
    async def resume_plan(self, task_id: UUID, action: str) -> None:
        from asynccoder_tui.services import plans

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("resume the plan"):
            view = await plans.resume_plan(ctx, task_id, action)
            stopped = view.status in ("conflict", "failed")
            self.notify(
                safe(view.problem.get("message", "")) if stopped and view.problem
                else f"Plan {view.status}: {view.progress}",
                title="Plan stopped again" if stopped else "Plan resumed",
                severity="warning" if stopped else "information",
                markup=False,
            )  # fmt: skip
            self.review.action_refresh()
