"""The chat pane: the selected task's transcript, live, and the follow-up input below it.

The transcript is read from the database: in full when a task is selected, then only the
events after the last one shown each time the bus says more were appended. One fetch runs at
a time; notifications that arrive meanwhile are folded into the next fetch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from asynccoder_tui.domain.enums import EventKind
from asynccoder_tui.domain.models import Task, TaskEvent
from asynccoder_tui.tui.format import STATUS_ICON, STATUS_STYLE, compact_number, money, safe
from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp

FETCH_LIMIT = 5_000


class EventFilter:
    """Shapes stored events for the transcript view, remembering what it has seen.

    Left out: the agent's echo of the user's prompt (the service recorded the prompt when the
    task was submitted), an assistant `message` that repeats text already streamed as deltas,
    and the per-step bookkeeping statuses. The agent's own `state` statuses and the credit
    settlement are put in words the transcript shows as status lines.
    """

    def __init__(self) -> None:
        self.streamed_steps: set[object] = set()

    def __call__(self, events: Iterable[TaskEvent]) -> list[TaskEvent]:
        out: list[TaskEvent] = []
        for event in events:
            shaped = self._shape(event)
            if shaped is not None:
                out.append(shaped)
        return out

    def _shape(self, event: TaskEvent) -> TaskEvent | None:
        p = event.payload
        if event.kind is EventKind.TEXT_DELTA:
            self.streamed_steps.add(p.get("step"))
            return event
        if event.kind is EventKind.MESSAGE:
            role = p.get("role")
            if role == "user" and "step" in p:
                return None
            if role == "assistant" and "step" in p and p.get("step") in self.streamed_steps:
                return None
            return event
        if event.kind is EventKind.STATUS and "status" not in p and "state" in p:
            state = str(p.get("state"))
            if state in ("step", "finished"):
                return None
            detail = p.get("detail")
            if state == "started":
                detail = f"{p.get('model', '?')}, {p.get('mode', '?')} mode" + (
                    ", resumed" if p.get("resumed") else ""
                )
            return _with_payload(event, {"status": f"agent {state}", "detail": detail})
        if event.kind is EventKind.USAGE and p.get("settlement"):
            billed = p.get("billed_credits", 0)
            released = p.get("released_credits", 0)
            detail = f"{billed} credits billed, {released} released"
            return _with_payload(
                event, {"status": "settled", "detail": detail}, kind=EventKind.STATUS
            )
        return event


def _with_payload(
    event: TaskEvent, payload: dict[str, object], kind: EventKind | None = None
) -> TaskEvent:
    update: dict[str, object] = {"payload": payload}
    if kind is not None:
        update["kind"] = kind
    return event.model_copy(update=update)


def task_summary(task: Task) -> Text:
    tokens = task.input_tokens + task.output_tokens
    line = Text.assemble(
        (f"{STATUS_ICON[task.status]} {task.status.value}", STATUS_STYLE[task.status]),
        ("  ·  ", "dim"),
        safe(task.title, 80),
        ("  ·  ", "dim"),
        (f"{task.mode.value} · {safe(task.model, 30)} · {money(task.cost)}", "dim"),
    )
    if tokens:
        line.append(f" · {compact_number(tokens)} tokens", style="dim")
    if task.error and task.status.is_final:
        line.append(f"\n{safe(task.error, 200)}", style="red")
    return line


class ChatPane(Vertical):
    """Pane 3: the agent's transcript for the selected task."""

    BORDER_TITLE = "3 Chat"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "focus_input", "Follow up", id="chat.follow_up"),
        Binding("c", "screen.cancel_task", "Cancel", id="chat.cancel"),
        Binding("escape", "leave_input", "Back to transcript", show=False, id="chat.leave_input"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="pane")
        self.task_id: UUID | None = None
        self.shown_task: Task | None = None
        self.last_seq = 0
        self._generation = 0
        self._dirty = False
        self._fetching = False
        self.shape = EventFilter()

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("Select a task to see its transcript.", id="chat-summary")
        yield TranscriptView(id="transcript")
        yield Input(placeholder="follow-up message for the agent (enter sends)", id="follow-up")

    @property
    def view(self) -> TranscriptView:
        return self.query_one(TranscriptView)

    def focus_main(self) -> None:
        self.view.focus()

    def action_focus_input(self) -> None:
        if self.shown_task is None:
            self.app.bell()
            return
        self.query_one("#follow-up", Input).focus()

    def action_leave_input(self) -> None:
        self.view.focus()

    # -- showing a task ---------------------------------------------------------------------

    def show_task(self, task: Task | None) -> None:
        """Show `task` (re-reading its transcript if it is another task than the one shown)."""
        summary = self.query_one("#chat-summary", Static)
        self.shown_task = task
        if task is None:
            self.task_id = None
            self._generation += 1
            self.view.set_events([])
            summary.update("Select a task to see its transcript.")
            return
        summary.update(task_summary(task))
        if task.id != self.task_id:
            self.task_id = task.id
            self.last_seq = 0
            self._generation += 1
            self.shape = EventFilter()
            self.view.set_events([])
            self.refresh_events()

    def events_appended(self, task_id: UUID, seq: int) -> None:
        if task_id == self.task_id and seq > self.last_seq:
            self.refresh_events()

    def reload(self) -> None:
        """Re-read the whole transcript (after a reconnect)."""
        if self.task_id is not None:
            self.last_seq = 0
            self._generation += 1
            self.shape = EventFilter()
            self.refresh_events()

    def refresh_events(self) -> None:
        self._dirty = True
        if not self._fetching:
            self._fetching = True
            self._fetch()

    @work(group="chat-fetch", exit_on_error=False)
    async def _fetch(self) -> None:
        from asynccoder_tui.services import tasks

        try:
            while self._dirty:
                self._dirty = False
                ctx = self.ctx_app.context
                task_id, generation, after = self.task_id, self._generation, self.last_seq
                if ctx is None or task_id is None:
                    return
                with self.ctx_app.reporting("read the transcript"):
                    events = await tasks.transcript(
                        ctx, task_id, after_seq=after, limit=FETCH_LIMIT
                    )
                    if generation != self._generation:
                        self._dirty = True  # another task (or a reload) since: start over
                        continue
                    if after == 0:
                        self.view.set_events(self.shape(events))
                    elif events:
                        self.view.append_events(self.shape(events))
                    if events:
                        self.last_seq = events[-1].seq
                    if len(events) >= FETCH_LIMIT:
                        self._dirty = True
        finally:
            self._fetching = False

    # -- follow-up --------------------------------------------------------------------------

    @on(Input.Submitted, "#follow-up")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text or self.task_id is None:
            self.app.bell()
            return
        event.input.value = ""
        self.send_follow_up(self.task_id, text)

    @work(group="chat-follow-up", exit_on_error=False)
    async def send_follow_up(self, task_id: UUID, text: str) -> None:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("send the follow-up"):
            task = await tasks.follow_up(ctx, task_id, text)
            self.notify("Follow-up sent to the agent", title=safe(task.title, 50), markup=False)
            self.view.focus()
