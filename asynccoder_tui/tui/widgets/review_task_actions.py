"""The diff pane's actions on its task as a whole, beside the diff itself: the plan (shown above
the diff; `A` approves it, `E` edits it), the automatic review (shown beside the diff; `b` sends
its requested changes back to the agent) and the pull request (`p` opens one, `P` refreshes its
state).

`TaskReviewActions` is the base of `ReviewPane`, which holds the bindings and composes the
`PlanNotes`, `ReviewNotes` and `DiffView` used here; this module must not change the diff's
files and hunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from textual import work
from textual.containers import Vertical

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.tui.widgets.diff_view import DiffView
from asynccoder_tui.tui.widgets.plan_notes import PlanNotes
from asynccoder_tui.tui.widgets.review_notes import ReviewNotes

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp


class TaskReviewActions(Vertical):
    """The diff pane's task, its plan and review notes, and the actions on them."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.shown_task: Task | None = None
        self.task_id: UUID | None = None
        self._generation = 0
        """Bumped when the pane shows another task or reloads: a read of an older one is dropped."""

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    @property
    def view(self) -> DiffView:
        return self.query_one(DiffView)

    @work(group="diff-review", exclusive=True, exit_on_error=False)
    async def load_review(self, task_id: UUID, generation: int) -> None:
        """Show the task's latest review beside its diff (none: hidden)."""
        from asynccoder_tui.services import reviews

        ctx = self.ctx_app.context
        if ctx is None:
            return
        from asynccoder_tui.services import plans

        try:
            review = await reviews.latest_review(ctx, task_id)
            try:
                plan: Any = await plans.show_plan(ctx, task_id)
            except NotFoundError:
                plan = None
        except Exception as err:
            self.ctx_app.report_error(err, "read the review")
            return
        if generation == self._generation and self.task_id == task_id:
            self.query_one(ReviewNotes).show_review(review, self.view.files)
            self.query_one(PlanNotes).show_plan(plan)

    def action_approve_plan(self) -> None:
        plan = self.query_one(PlanNotes).plan
        if self.task_id is None or plan is None or plan.status != "proposed":
            self.notify("This task has no plan to approve", severity="warning", timeout=3)
            return
        self.approve_plan(self.task_id)

    @work(group="diff-plan-approve", exit_on_error=False)
    async def approve_plan(self, task_id: UUID) -> None:
        from asynccoder_tui.services import plans

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("approve the plan"):
            children = await plans.approve_plan(ctx, task_id)
            self.notify(f"Plan approved: {len(children)} subtasks queued", title="Plan")
            self.load_review(task_id, self._generation)

    def action_edit_plan(self) -> None:
        """`E`: edit a proposed plan's subtasks in a dialog (an approved one is refused)."""
        plan = self.query_one(PlanNotes).plan
        if self.task_id is None or plan is None:
            self.notify("This task has no plan to edit", severity="warning", timeout=3)
            return
        if plan.status != "proposed":
            self.notify(
                f"The plan is {plan.status}: only a proposed plan can be edited, before A "
                f"approves it",
                severity="warning",
                timeout=4,
            )
            return
        from asynccoder_tui.services import plans
        from asynccoder_tui.tui.screens.plan_editor import PlanEditor

        ctx = self.ctx_app.context
        if ctx is None:
            return
        task_id = self.task_id

        async def save(text: str) -> Any:
            return await plans.edit_plan(ctx, task_id, plans.parse_plan_text(text))

        def saved(view: Any) -> None:
            if view is not None and self.task_id == task_id:
                self.query_one(PlanNotes).show_plan(view)
                self.notify(f"Plan saved: {len(view.subtasks)} subtasks", title="Plan")

        editor = PlanEditor(
            str(task_id)[:8], plans.plan_text(plan.subtasks), plans.PLAN_TEXT_HELP, save
        )
        self.app.push_screen(editor, saved)

    def events_appended(self, task_id: UUID) -> None:
        """A finished task's transcript grew: a review may have arrived (re-read it)."""
        task = self.shown_task
        if task is not None and task.id == task_id and task.status.is_final:
            self.load_review(task_id, self._generation)

    def _refresh_review_notes(self) -> None:
        """Re-place the review's findings once more hunks are known."""
        notes = self.query_one(ReviewNotes)
        if notes.review is not None:
            notes.show_review(notes.review, self.view.files)

    def action_send_review_back(self) -> None:
        notes = self.query_one(ReviewNotes)
        if self.task_id is None or notes.review is None:
            self.notify("This task has no review to send back", severity="warning", timeout=3)
            return
        self.send_review_back(self.task_id)

    @work(group="diff-review-back", exit_on_error=False)
    async def send_review_back(self, task_id: UUID) -> None:
        from asynccoder_tui.services import reviews

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("send the review back"):
            await reviews.send_back(ctx, task_id)
            self.notify("The review's requested changes went back to the agent", title="Review")

    def action_sync_pull_request(self) -> None:
        if self.task_id is None or self.shown_task is None or not self.shown_task.pr_url:
            self.notify("This task has no pull request yet", severity="warning", timeout=3)
            return
        self.sync_pull_request(self.task_id)

    @work(group="diff-pr-sync", exclusive=True, exit_on_error=False)
    async def sync_pull_request(self, task_id: UUID) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("refresh the pull request"):
            pr = await review.sync_pull_request(ctx, task_id)
            self.notify(f"#{pr.number} is {pr.state.value}", title="Pull request", markup=False)

    def action_pull_request(self) -> None:
        from asynccoder_tui.tui.screens.pull_request import PullRequestScreen

        task = self.shown_task
        if task is None:
            self.app.bell()
            return
        if task.status is not TaskStatus.COMPLETED:
            self.notify(
                f"The task is {task.status.value}; pull requests open from completed tasks",
                severity="warning",
            )
            return
        self.app.push_screen(PullRequestScreen(task))
