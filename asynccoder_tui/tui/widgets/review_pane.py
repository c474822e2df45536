"""The diff pane: review the selected task's changes and open its pull request.

The file list is read first (with +/- counts); each file's hunks are read when the diff view
asks for them (as the file nears the screen). Rejecting a hunk reverts it in the task's
workspace through the review service, then re-reads that file, so what is shown is always what
the workspace holds. Comments on hunks are collected here and sent to the agent together as
one follow-up (`s`). The plan, the automatic review and the pull request are the base class's
(`review_task_actions.py`).

A file marked reviewed (`m` in the diff view) is saved with the fingerprint of the content the
reviewer was shown; when the file list is read, each file's marks are checked against its
content now, and a file changed since its review says so.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from typing import Any, ClassVar
from uuid import UUID

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.errors import ConflictError, GitError, InputError, WorkspaceError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.widgets import diff_messages
from asynccoder_tui.tui.widgets.diff_model import to_diff_file, to_diff_hunks
from asynccoder_tui.tui.widgets.diff_view import DiffView
from asynccoder_tui.tui.widgets.plan_notes import PlanNotes
from asynccoder_tui.tui.widgets.review_notes import ReviewNotes
from asynccoder_tui.tui.widgets.review_task_actions import TaskReviewActions


class ReviewPane(TaskReviewActions):
    """Pane 4: the diff of the selected task (its plan, review and pull request: the base)."""

    BORDER_TITLE = "4 Diff"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "send_comments", "Send comments", id="diff.send_comments"),
        Binding("p", "pull_request", "Pull request", id="diff.pull_request"),
        Binding("P", "sync_pull_request", "PR state", show=False, id="diff.sync_pull_request"),
        Binding("R", "refresh", "Refresh diff", id="diff.refresh"),
        Binding(
            "b", "send_review_back", "Send review back", show=False, id="diff.send_review_back"
        ),
        Binding("A", "approve_plan", "Approve plan", show=False, id="diff.approve_plan"),
        Binding("E", "edit_plan", "Edit plan", show=False, id="diff.edit_plan"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.hunks: dict[str, list[Any]] = {}
        """The review service's hunks of each loaded file (id, header, line numbers)."""
        self.comments: list[Any] = []
        self.changes: list[Any] = []
        """The version-control `FileChange`s of the files shown."""
        self.fingerprints: dict[str, str] = {}
        """Each shown file's content fingerprint, as last read (what a mark is saved with)."""
        self._mark_lock = asyncio.Lock()
        self._note: Text | str | None = None
        """Shown instead of the file summary while there is no diff to show (and why)."""

    def compose(self) -> ComposeResult:
        yield Static("Select a task to review its changes.", id="diff-summary")
        yield PlanNotes(id="diff-plan")
        yield ReviewNotes(id="diff-review")
        yield DiffView(id="diff-view")

    def focus_main(self) -> None:
        self.view.focus()

    # -- loading ----------------------------------------------------------------------------

    def show_task(self, task: Task | None) -> None:
        """Show `task`'s diff; re-read it when the task is another one or has just finished."""
        previous = self.shown_task
        self.shown_task = task
        if task is None:
            self.task_id = None
            self._generation += 1
            self.view.set_files([])
            self._say("Select a task to review its changes.")
            return
        if task.id != self.task_id:
            self.task_id = task.id
            self.comments = []
            self.query_one(ReviewNotes).show_review(None, ())
            self.query_one(PlanNotes).show_plan(None)
            self._generation += 1
            self.view.set_files([])
            self._say("Loading changes…")
            self.load()
        elif previous is not None and (
            previous.status != task.status or previous.attempt != task.attempt
        ):
            self.load()  # it started (a workspace now exists), finished, or ran again
        else:
            self._show_summary()

    def _say(self, text: str | Text) -> None:
        self.query_one("#diff-summary", Static).update(text)

    def _explain(self, text: str | Text) -> None:
        self._note = text
        self._say(text)

    def _show_summary(self) -> None:
        files = self.view.files
        task = self.shown_task
        if task is None:
            return
        if self._note is not None:
            self._say(self._note)
            return
        added = sum(f.added for f in files)
        removed = sum(f.removed for f in files)
        line = Text.assemble(
            (f"{len(files)} file{'s' if len(files) != 1 else ''} ", "bold"),
            (f"+{added}", "green"),
            " ",
            (f"-{removed}", "red"),
        )
        reviewed = self.view.reviewed_count
        if reviewed:
            line.append(f"  ·  {reviewed}/{len(files)} reviewed", style="green")
        if self.comments:
            line.append(f"  ·  {len(self.comments)} comment(s) to send (s)", style="yellow")
        if task.pr_url:
            line.append(f"  ·  PR {task.pr_state.value if task.pr_state else ''}: ", style="dim")
            line.append(safe(task.pr_url), style="cyan")
        elif task.status is TaskStatus.RUNNING:
            line.append("  ·  the agent is still working (R refreshes)", style="dim")
        elif task.status is TaskStatus.COMPLETED and files:
            line.append("  ·  p opens a pull request", style="dim")
        self._say(line)

    def load(self) -> None:
        self._load(self._generation)

    @work(group="diff-load", exclusive=True, exit_on_error=False)
    async def _load(self, generation: int) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        task = self.shown_task
        if ctx is None or task is None:
            return
        self._note = None
        if task.status is TaskStatus.QUEUED and task.work_branch is None:
            self._explain("Queued: the diff shows once the agent starts working.")
            return
        try:
            changes = await review.changed_files(ctx, task.id, stats=True)
        except (WorkspaceError, GitError, ConflictError) as err:
            self._explain(Text(safe(err), style="yellow"))  # in the pane: not an emergency
            return
        except Exception as err:
            self.ctx_app.report_error(err, "read the diff")
            return
        if (
            generation != self._generation
            or self.shown_task is None
            or self.shown_task.id != task.id
        ):
            return
        self.hunks = {}
        self.changes = list(changes)
        self.fingerprints = {}
        self.view.set_files([to_diff_file(c) for c in changes])
        self.load_review(task.id, generation)
        if changes:
            self.load_marks(task.id, generation)
        if not changes:
            self._say("No changes yet." if not task.status.is_final else "No changes.")
        else:
            self._show_summary()

    @work(group="diff-marks", exclusive=True, exit_on_error=False)
    async def load_marks(self, task_id: UUID, generation: int) -> None:
        """Show which files are marked reviewed as they are now (and which changed since)."""
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None:
            return
        # Under the marks' lock: a mark being saved is saved before the marks are read.
        async with self._mark_lock:
            with self.ctx_app.reporting("read the reviewed marks"):
                states = await review.review_states(ctx, task_id, self.changes)
                if generation != self._generation or self.task_id != task_id:
                    return
                for path, state in states.items():
                    self.fingerprints[path] = state.fingerprint
                    self.view.set_file_reviewed(path, state.reviewed, stale=state.stale)
                self._show_summary()

    @on(DiffView.FileHunksNeeded)
    def _hunks_needed(self, event: diff_messages.FileHunksNeeded) -> None:
        event.stop()
        self.load_hunks(event.path, self._generation)

    @work(group="diff-hunks", exit_on_error=False)
    async def load_hunks(self, path: str, generation: int) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None or self.task_id is None:
            return
        with self.ctx_app.reporting(f"read the changes of {safe(path, 60)}"):
            diff = await review.file_hunks(ctx, self.task_id, path)
            if generation != self._generation:
                return
            self.hunks[path] = list(diff.hunks)
            self.view.set_file_hunks(path, to_diff_hunks(diff))
            self._refresh_review_notes()

    def action_refresh(self) -> None:
        if self.shown_task is not None:
            self._generation += 1
            self.load()

    # -- review actions ---------------------------------------------------------------------

    @on(DiffView.HunkDecision)
    def _decision(self, event: diff_messages.HunkDecision) -> None:
        event.stop()
        if event.rejected:
            self.reject(event.path, event.hunk_index, self._generation)

    @work(group="diff-reject", exit_on_error=False)
    async def reject(self, path: str, index: int, generation: int) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None or self.task_id is None:
            return
        known = self.hunks.get(path, [])
        try:
            with self.ctx_app.reporting("reject the hunk"):
                await review.reject_hunk(
                    ctx,
                    self.task_id,
                    path,
                    index,
                    hunk_id=known[index].id if index < len(known) else None,
                )
                self.notify(f"Hunk reverted in {safe(path, 60)}", title="Review", markup=False)
        finally:
            self.view.set_hunk_rejected(path, index, False)
        if generation == self._generation:
            await self._reread_file(path)

    async def _reread_file(self, path: str) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None or self.task_id is None:
            return
        try:
            diff = await review.file_hunks(ctx, self.task_id, path)
        except InputError:  # no change left in it: the file is back to its base
            self.load()
            return
        except Exception as err:
            self.ctx_app.report_error(err, "re-read the diff")
            return
        with self.ctx_app.reporting("re-read the diff"):
            self.hunks[path] = list(diff.hunks)
            if diff.hunks or diff.binary:
                self.view.set_file_hunks(path, to_diff_hunks(diff))
                self.load_marks(self.task_id, self._generation)  # its content changed
            else:  # the whole file is back to its base: re-read the file list
                self.load()

    def events_appended(self, task_id: UUID) -> None:
        """A finished task's transcript grew. For a plan's parent that is a subtask merged into
        its branch: its whole diff is read again (with its plan and review)."""
        task = self.shown_task
        if task is not None and task.id == task_id and task.status.is_final:
            if self.query_one(PlanNotes).plan is not None:
                self.load()
                return
        super().events_appended(task_id)

    @on(DiffView.HunkCommentRequested)
    def _comment_requested(self, event: diff_messages.HunkCommentRequested) -> None:
        event.stop()
        from asynccoder_tui.tui.screens.dialogs import TextPrompt

        known = self.hunks.get(event.path, [])
        hunk = known[event.hunk_index] if event.hunk_index < len(known) else None
        header = hunk.header if hunk is not None else ""
        line = hunk.new_start if hunk is not None else None
        path = event.path

        def done(text: str | None) -> None:
            if text and text.strip():
                self.add_comment(path, line, header, text.strip())

        self.app.push_screen(
            TextPrompt(
                f"Comment on {safe(path, 60)}",
                safe(header, 100) or f"hunk {event.hunk_index + 1}",
                placeholder="what should the agent change here?",
                submit="Add comment",
                multiline=True,
            ),
            done,
        )

    def add_comment(self, path: str, line: int | None, header: str, text: str) -> None:
        from asynccoder_tui.services.review import HunkComment

        self.comments.append(HunkComment(path=path, line=line, hunk_header=header, text=text))
        self._show_summary()
        self.notify(
            f"{len(self.comments)} comment(s) waiting; s sends them to the agent",
            title="Review",
            timeout=4,
        )

    def action_send_comments(self) -> None:
        if not self.comments or self.task_id is None:
            self.notify("There are no comments to send", severity="warning", timeout=3)
            return
        self.send_comments(self.task_id, list(self.comments))

    @work(group="diff-comments", exit_on_error=False)
    async def send_comments(self, task_id: UUID, comments: list[Any]) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("send the comments"):
            await review.send_comments(ctx, task_id, comments)
            if self.task_id == task_id:
                self.comments = []
                self._show_summary()
            self.notify(f"{len(comments)} comment(s) sent to the agent", title="Review")

    @on(DiffView.FileReviewed)
    def _reviewed(self, event: diff_messages.FileReviewed) -> None:
        event.stop()
        if self.task_id is not None:  # marked as the reviewer saw it (the fingerprint read)
            shown = self.fingerprints.get(event.path)
            self.save_mark(self.task_id, event.path, event.reviewed, shown)
        self._show_summary()

    @work(group="diff-mark-save", exit_on_error=False)
    async def save_mark(
        self, task_id: UUID, path: str, reviewed: bool, fingerprint: str | None
    ) -> None:
        """Save (or take back) a reviewed mark; the view already shows it, and goes back to
        what was saved if the database refuses."""
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        if ctx is None:
            return
        saved = False
        async with self._mark_lock:  # in the order the user pressed `m`
            with self.ctx_app.reporting("save the reviewed mark"):
                if reviewed:
                    marked = await review.mark_reviewed(ctx, task_id, path, fingerprint=fingerprint)
                    if self.task_id == task_id:
                        self.fingerprints.setdefault(path, marked)
                else:
                    await review.unmark_reviewed(ctx, task_id, path)
                saved = True
        if self.task_id == task_id:  # what the database holds now (a read may have overlapped)
            self.view.set_file_reviewed(path, reviewed if saved else not reviewed)
            self._show_summary()

    @on(DiffView.OpenInEditor)
    def _open_editor(self, event: diff_messages.OpenInEditor) -> None:
        event.stop()
        self.open_in_editor(event.path, event.line)

    @work(group="diff-editor", exit_on_error=False)
    async def open_in_editor(self, path: str, line: int | None) -> None:
        import asyncio
        import subprocess

        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        task = self.shown_task
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if ctx is None or task is None:
            return
        if not editor:
            self.notify("Set $EDITOR to open files from the diff", severity="warning")
            return
        with self.ctx_app.reporting("open the editor"):
            ws = await review.task_workspace(ctx, task)
            target = (ws.path / path).resolve()
            if not target.is_relative_to(ws.path.resolve()):
                raise ValueError("the path leaves the workspace")
            command = [*shlex.split(editor)]
            if line and os.path.basename(command[0]) in ("vi", "vim", "nvim", "nano", "emacs"):
                command.append(f"+{line}")
            command.append(str(target))
            with self.app.suspend():
                await asyncio.to_thread(subprocess.run, command, check=False)
            self.action_refresh()
