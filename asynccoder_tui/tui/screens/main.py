"""The main screen: repos, tasks, chat and diff panes, the header and the connection banner.

Side by side when the terminal is wide (lists on the left, chat and diff on the right),
stacked when it is narrow (the focused pane gets most of the height). `tab`/`shift+tab` and
`1`-`4` move between panes. The screen routes live updates from the app to the panes and
carries out the actions on the selected task (new, cancel, retry, follow up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.errors import NotFoundError
from asynccoder_tui.tui.messages import (
    ConnectionChanged,
    ContextFailed,
    ContextReady,
    CreditsChanged,
    Resync,
    TaskEventsAppended,
    TasksChanged,
)
from asynccoder_tui.tui.screens.group_actions import GroupActions
from asynccoder_tui.tui.screens.task_actions import TaskActions
from asynccoder_tui.tui.widgets.banner import Banner
from asynccoder_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from textual.widgets import DataTable

    from asynccoder_tui.domain.models import Repository, Task
    from asynccoder_tui.domain.queries import TaskFilter, TaskPageCursor
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.widgets.chat_pane import ChatPane
    from asynccoder_tui.tui.widgets.repos_pane import ReposPane
    from asynccoder_tui.tui.widgets.review_pane import ReviewPane
    from asynccoder_tui.tui.widgets.tasks_pane import TasksPane
    from asynccoder_tui.tui.widgets.tasks_table import TasksTable

WIDE_COLUMNS = 120
PANES = ("repos", "tasks", "chat", "diff")
PANE_IDS = {
    "repos": "repos-pane",
    "tasks": "tasks-pane",
    "chat": "chat-pane",
    "diff": "review-pane",
}
PANE_TITLES = {"repos": "1 Repos", "tasks": "2 Tasks", "chat": "3 Chat", "diff": "4 Diff"}


class MainScreen(TaskActions, GroupActions, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "next_pane", "Next pane", show=False, id="main.next_pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="main.previous_pane"),
        Binding("1", "focus_pane('repos')", "Repos", show=False, id="main.focus_repos"),
        Binding("2", "focus_pane('tasks')", "Tasks", show=False, id="main.focus_tasks"),
        Binding("3", "focus_pane('chat')", "Chat", show=False, id="main.focus_chat"),
        Binding("4", "focus_pane('diff')", "Diff", show=False, id="main.focus_diff"),
        Binding("n", "new_task", "New task", id="main.new_task"),
        Binding("c", "cancel_task", "Cancel", show=False, id="main.cancel_task"),
        Binding("r", "retry_task", "Retry", show=False, id="main.retry_task"),
        Binding("f", "follow_up", "Follow up", show=False, id="main.follow_up"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="main.reload"),
        Binding("B", "attempts", "Attempts side by side", show=False, id="main.attempts"),
        Binding("M", "resume_plan('continue')", "Resume plan", show=False, id="main.resume_plan"),
        Binding("S", "resume_plan('skip')", "Skip subtask", show=False, id="main.skip_subtask"),
    ]

    def __init__(self) -> None:
        super().__init__(id="main")
        self.selected: Task | None = None
        self.repository: Repository | None = None
        self._statuses: dict[UUID, TaskStatus] = {}
        self._pending_select: UUID | None = None
        self._repos_timer: Timer | None = None
        self._diff_timer: Timer | None = None
        self._ticks_without_pool = 0
        self.built = False
        """The panes are mounted (they come right after the first frame)."""

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        # The first frame shows the frame of the screen (header, pane borders, footer); the
        # panes themselves, and the modules behind them, come right after it (`_build_panes`).
        yield StatusHeader(id="header")
        yield Banner(id="banner")
        # The layout for the terminal's width from the start: switching it after the first
        # frame would restyle every pane.
        width = self.app.size.width
        with Horizontal(id="panes", classes="-wide" if width >= WIDE_COLUMNS else "-narrow"):
            for column, names in (("left-column", PANES[:2]), ("right-column", PANES[2:])):
                with Vertical(id=column, classes="column"):
                    for name in names:
                        slot = Static("Loading…", id=f"{name}-slot", classes="pane pane-slot")
                        slot.border_title = PANE_TITLES[name]
                        yield slot
        yield Footer()

    # -- panes ------------------------------------------------------------------------------

    @property
    def repos(self) -> ReposPane:
        return self.query_one("#repos-pane")  # type: ignore[return-value]

    @property
    def tasks(self) -> TasksPane:
        return self.query_one("#tasks-pane")  # type: ignore[return-value]

    @property
    def chat(self) -> ChatPane:
        return self.query_one("#chat-pane")  # type: ignore[return-value]

    @property
    def review(self) -> ReviewPane:
        return self.query_one("#review-pane")  # type: ignore[return-value]

    @property
    def header(self) -> StatusHeader:
        return self.query_one(StatusHeader)

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    def pane(self, name: str) -> Widget:
        return self.query_one(f"#{PANE_IDS[name]}")

    def focused_pane(self) -> str | None:
        node = self.focused
        while node is not None:
            for name, pane_id in PANE_IDS.items():
                if node.id == pane_id:
                    return name
            node = node.parent  # type: ignore[assignment]
        return None

    def on_mount(self) -> None:
        self._layout(self.size.width)
        self.call_after_refresh(self._build_panes)

    async def _build_panes(self) -> None:
        from asynccoder_tui.tui.widgets.chat_pane import ChatPane
        from asynccoder_tui.tui.widgets.repos_pane import ReposPane
        from asynccoder_tui.tui.widgets.review_pane import ReviewPane
        from asynccoder_tui.tui.widgets.tasks_pane import TasksPane

        panes = {
            "repos": ReposPane(id="repos-pane"),
            "tasks": TasksPane(id="tasks-pane"),
            "chat": ChatPane(id="chat-pane"),
            "diff": ReviewPane(id="review-pane"),
        }
        for name, pane in panes.items():
            if not self.is_attached or self.app.return_code is not None:
                return  # quitting already
            slot = self.query_one(f"#{name}-slot")
            assert isinstance(slot.parent, Widget)
            pane.loading = self.ctx_app.context is None
            await slot.parent.mount(pane, before=slot)
            await slot.remove()
        table = self.tasks.table
        table.fetch_page = self._fetch_page
        table.clock = self.ctx_app.clock
        table.spin = self.ctx_app.animate_spinners
        self.set_interval(1.0, self._show_workers)
        self.tasks.focus_main()
        self.built = True
        if self.ctx_app.context is not None:
            self._context_ready()

    def on_resize(self, event: events.Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        panes = self.query_one("#panes")
        wide = width >= WIDE_COLUMNS
        panes.set_class(wide, "-wide")
        panes.set_class(not wide, "-narrow")

    @property
    def is_wide(self) -> bool:
        return self.query_one("#panes").has_class("-wide")

    def action_focus_pane(self, name: str) -> None:
        if not self.built:
            return
        pane = self.pane(name)
        focus_main = getattr(pane, "focus_main", None)
        if callable(focus_main):
            focus_main()

    def action_next_pane(self) -> None:
        self._cycle(1)

    def action_previous_pane(self) -> None:
        self._cycle(-1)

    def _cycle(self, step: int) -> None:
        current = self.focused_pane()
        index = PANES.index(current) if current else -step
        self.action_focus_pane(PANES[(index + step) % len(PANES)])

    # -- the database -----------------------------------------------------------------------

    async def _fetch_page(
        self, filters: TaskFilter, after: TaskPageCursor | None, limit: int
    ) -> list[Task]:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return []
        return await tasks.list_tasks(ctx, filters=filters, after=after, limit=limit)

    @on(ContextFailed)
    def _context_failed(self, message: ContextFailed) -> None:
        then = (
            f"retrying in {message.retry_in:.0f} s"
            if message.retry_in is not None
            else "fix this, then start Async Coder again"
        )
        self.banner.show(f"{message.error}  ·  {then}")
        self.header.connected = False

    @on(ContextReady)
    def _context_ready(self) -> None:
        ctx = self.ctx_app.context
        assert ctx is not None
        self.banner.hide()
        if not self.built:
            return  # `_build_panes` calls again
        self.header.username = ctx.user.display_name or ctx.user.username
        self.header.balance = ctx.user.credits
        self.header.connected = True
        for pane in (self.repos, self.tasks, self.chat, self.review):
            pane.loading = False
        self._show_workers()
        self.repos.reload()
        self.tasks.table.reload()

    @on(ConnectionChanged)
    def _connection_changed(self, message: ConnectionChanged) -> None:
        self.header.connected = message.connected
        if message.connected:
            self.banner.hide()
        else:
            self.banner.show(
                "Lost the connection to the database  ·  reconnecting…  "
                "(what you see may be out of date)"
            )

    @on(Resync)
    def _resync(self) -> None:
        if self.ctx_app.context is None or not self.built:
            return
        self.repos.reload()
        self.tasks.table.reload()
        self.chat.reload()
        self.review.action_refresh()
        self.refresh_balance()

    @on(CreditsChanged)
    def _credits_changed(self) -> None:
        self.refresh_balance()

    @work(group="balance", exclusive=True, exit_on_error=False)
    async def refresh_balance(self) -> None:
        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("read the balance"):
            user = await ctx.refresh_user()
            self.header.balance = user.credits

    def _show_workers(self) -> None:
        workers = self.ctx_app.local_workers
        if self.ctx_app.context is None:
            return
        if workers is not None:
            status = workers.pool.status
            self.header.worker_text = f"workers {status.running}/{status.concurrency} busy"
            return
        self._ticks_without_pool += 1
        if self._ticks_without_pool % 10 == 1:  # every 10 s: are workers running elsewhere?
            self.check_external_workers()

    @work(group="workers-check", exclusive=True, exit_on_error=False)
    async def check_external_workers(self) -> None:
        from asynccoder_tui.services import live

        ctx = self.ctx_app.context
        if ctx is None:
            return
        try:
            alive = await live.workers_alive(ctx)
        except Exception:  # the banner covers a lost database; this is only a hint
            return
        self.header.worker_text = "workers elsewhere" if alive else "no workers: tasks will wait"

    # -- live task updates ------------------------------------------------------------------

    @on(TasksChanged)
    def _tasks_changed(self, message: TasksChanged) -> None:
        if self.built:  # before, the first load after `ContextReady` reads them anyway
            self.refresh_tasks(message.task_ids)
        self._forward_live(message.task_ids)

    @work(group="tasks-live", exit_on_error=False)
    async def refresh_tasks(self, task_ids: frozenset[UUID]) -> None:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return
        fresh: list[Task] = []
        for task_id in task_ids:
            try:
                fresh.append(await tasks.get_task(ctx, task_id))
            except NotFoundError:
                continue  # another user's task, or gone
            except Exception as err:
                self.ctx_app.report_error(err, "refresh a task")
        self.show_tasks(fresh)

    def show_tasks(self, fresh: list[Task]) -> None:
        table = self.tasks.table
        counts_changed = False
        for task in fresh:
            before = self._statuses.get(task.id)
            loaded = table.loaded_task(task.id)
            if before is None and loaded is not None:
                before = loaded.status
            self._statuses[task.id] = task.status
            if before is not None and before != task.status:
                counts_changed = True
                if not before.is_final and task.status.is_final:
                    self.ctx_app.task_finished(task)
            elif before is None:
                counts_changed = True
        self.tasks.apply(fresh)
        for task in fresh:
            if self.selected is not None and task.id == self.selected.id:
                self._show_selected(task)
        if counts_changed:
            self.repos_refresh_soon()
        if self._pending_select is not None and table.loaded_task(self._pending_select):
            self.select_task_row(self._pending_select)

    def repos_refresh_soon(self) -> None:
        """Re-read the open-task counts, at most once a second."""
        if self._repos_timer is None:

            def fire() -> None:
                self._repos_timer = None
                self.repos.reload()

            self._repos_timer = self.set_timer(1.0, fire)

    @on(TaskEventsAppended)
    def _events_appended(self, message: TaskEventsAppended) -> None:
        if self.built:
            self.chat.events_appended(message.task_id, message.seq)
            self.review.events_appended(message.task_id)
        self._forward_live(frozenset({message.task_id}))

    # -- selection --------------------------------------------------------------------------

    def on_repos_pane_selected(self, message: ReposPane.Selected) -> None:
        self.repository = message.repository
        repo = message.repository
        self.tasks.set_repository(repo.id if repo else None, repo.display_name if repo else None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # A plain handler, not `@on(DataTable.RowSelected, ...)`: the decorator would load the
        # table's module before the first frame, which has no table yet.
        if event.data_table.id == "tasks-table":
            # `enter` on a task: read its transcript (the diff pane is one `tab` away).
            self.action_focus_pane("chat")
        elif event.data_table.id == "repos-table":
            # `enter` on a repository: its tasks.
            self.action_focus_pane("tasks")

    def on_tasks_table_task_highlighted(self, message: TasksTable.TaskHighlighted) -> None:
        task = message.task
        self.selected = task
        if task is not None:
            self._statuses.setdefault(task.id, task.status)
        self.chat.show_task(task)
        self._diff_soon(task)

    def _diff_soon(self, task: Task | None) -> None:
        """Show the task's diff once the cursor rests (reading a diff is git work)."""
        if self._diff_timer is not None:
            self._diff_timer.stop()

        def fire() -> None:
            self._diff_timer = None
            if self.selected is task:
                self.review.show_task(task)

        self._diff_timer = self.set_timer(0.15, fire)

    def _show_selected(self, task: Task) -> None:
        self.selected = task
        self.chat.show_task(task)
        self.review.show_task(task)

    def select_task_row(self, task_id: UUID) -> None:
        table = self.tasks.table
        if table.loaded_task(task_id) is None:
            self._pending_select = task_id
            return
        self._pending_select = None
        table.move_cursor(row=table.get_row_index(str(task_id)), animate=False)

    def jump_to_task(self, task: Task) -> None:
        """Select `task`, loading the list from it when it is not among the loaded rows."""
        table = self.tasks.table
        if table.loaded_task(task.id) is not None:
            self.select_task_row(task.id)
        else:
            self.repos.table.move_cursor(row=0, animate=False)
            table.reload(self.tasks.reset_filters(), anchor=task)
        self.tasks.focus_main()

    def action_reload(self) -> None:
        self._resync()

    def jump_to_repository(self, repo: Repository) -> None:
        self.repos.reload(select=repo.id)
        self.repos.focus_main()
