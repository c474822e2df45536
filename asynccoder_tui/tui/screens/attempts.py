"""Best-of-N attempts side by side: one column per attempt (model, live status, diff stats, the
repository's test result, review scores, cost), opened with `B` on a task of an attempt group.

`h`/`l` (or the arrows) move between attempts, `d` opens one's diff in the main screen, `m`
marks the attempt that takes hunks, `o` lists the selected attempt's hunks (with a preview) and
`t` takes the highlighted one into the marked attempt; `enter` or `p` picks the selected
attempt after a confirmation, and the others are cleaned up. The work is in
`services.attempts`; the screen re-reads the attempts when the main screen hears they changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from uuid import UUID

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from asynccoder_tui.tui.format import money, safe

if TYPE_CHECKING:
    from asynccoder_tui.services.attempts import AttemptHunk, AttemptRow
    from asynccoder_tui.tui.app import AsyncCoderApp

PREVIEW_LINES = 14
LIVE_DELAY = 0.5
EMPTY_PREVIEW = (
    "Taking hunks: mark the attempt that keeps them (m), choose another attempt (h/l), list "
    "its hunks (o), then t takes the highlighted hunk into the marked attempt. Take them "
    "before picking: picking removes the other attempts' workspaces."
)
STATUS_STYLE = {"completed": "green", "running": "cyan", "queued": "yellow", "failed": "red",
                "cancelled": "dim"}  # fmt: skip


def _score(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.2f}"


def render_attempt(
    row: AttemptRow, number: int, total: int, *, target: bool, picked: bool = False
) -> Text:
    """One attempt's column: what a person compares the attempts by."""
    text = Text.assemble((f"Attempt {number}/{total}", "bold"))
    if row.discarded:
        text.append("  discarded", style="dim")
    elif picked:
        text.append("  ★ picked", style="bold green")
    elif target:
        text.append("  ◆ takes hunks", style="bold magenta")
    text.append(f"\n{safe(row.model, 40)}", style="cyan")
    status = "discarded" if row.discarded else row.status
    text.append("\n")
    text.append(status, style=f"bold {STATUS_STYLE.get(status, '')}")
    text.append(f"  ·  {money(row.cost)}", style="dim")
    text.append(f"\n{row.files_changed} file(s)  ")
    text.append(f"+{row.lines_added}", style="green")
    text.append(" ")
    text.append(f"-{row.lines_removed}", style="red")
    if row.test_exit_code is None:
        text.append("\ntests: not run", style="dim")
    elif row.test_exit_code == 0:
        text.append("\n✔ tests pass", style="green")
    else:
        text.append(f"\n✘ tests fail (exit {row.test_exit_code})", style="red")
    last = [line for line in (row.test_output or "").splitlines() if line.strip()][-1:]
    if last:
        text.append(f"\n  {safe(last[0], 36)}", style="dim")
    if row.quality_score is None and row.security_score is None:
        text.append("\nreview: none", style="dim")
    else:
        text.append(
            f"\nreview: quality {_score(row.quality_score)} · security {_score(row.security_score)}"
        )
    return text


def render_hunk(hunk: AttemptHunk) -> Text:
    text = Text(f"{safe(hunk.path, 60)}  {safe(hunk.header, 60)}\n", style="bold")
    for line in hunk.lines[:PREVIEW_LINES]:
        style = {"+": "green", "-": "red"}.get(line[:1], "")
        text.append(safe(line, 200) if line.strip() else line[:1], style=style)
        text.append("\n")
    if len(hunk.lines) > PREVIEW_LINES:
        text.append(f"… {len(hunk.lines) - PREVIEW_LINES} more line(s)", style="dim")
    return text


class AttemptColumn(Static):
    """One attempt of the group."""

    def __init__(self, row: AttemptRow, number: int, total: int, *, target: bool) -> None:
        super().__init__(render_attempt(row, number, total, target=target), classes="attempt")
        self.row = row

    def show(self, row: AttemptRow, number: int, total: int, *, target: bool, picked: bool) -> None:
        self.row = row
        self.update(render_attempt(row, number, total, target=target, picked=picked))
        self.set_class(row.discarded, "-discarded")


class AttemptsScreen(Screen[None]):
    HELP_TITLE = "Attempts"
    DEFAULT_CSS = """
    AttemptsScreen { layout: vertical; }
    AttemptsScreen #attempts-title { padding: 0 1; color: $primary; height: auto; }
    AttemptsScreen #attempt-columns { height: auto; max-height: 14; }
    AttemptsScreen .attempt {
        width: 1fr; height: auto; min-height: 9; border: round $panel; padding: 0 1;
    }
    AttemptsScreen .attempt.-selected { border: round $accent; }
    AttemptsScreen .attempt.-discarded { opacity: 60%; }
    AttemptsScreen #attempt-hint { padding: 0 1; color: $text-muted; height: auto; }
    AttemptsScreen #attempt-hunks-row { height: 1fr; }
    AttemptsScreen #attempt-hunks { width: 2fr; height: 1fr; border: round $panel; }
    AttemptsScreen #attempt-hunks:focus { border: round $accent; }
    AttemptsScreen #attempt-hunk-preview {
        width: 3fr; height: 1fr; border: round $panel; padding: 0 1; overflow-y: auto;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="attempts.back"),
        Binding("left,h", "move(-1)", "Previous", id="attempts.previous"),
        Binding("right,l", "move(1)", "Next", id="attempts.next"),
        Binding("d", "open_diff", "Diff", id="attempts.diff"),
        Binding("o", "hunks", "Hunks", id="attempts.hunks"),
        Binding("m", "mark_target", "Takes hunks", id="attempts.mark_target"),
        Binding("t", "take_hunk", "Take hunk", id="attempts.take_hunk"),
        Binding("enter,p", "pick", "Pick", id="attempts.pick"),
    ]

    def __init__(self, task_id: UUID, rows: list[AttemptRow] | None = None) -> None:
        super().__init__(id="attempts")
        self.task_id = task_id
        self.rows: list[AttemptRow] = list(rows or [])
        self.index = next((i for i, r in enumerate(self.rows) if r.id == task_id), 0)
        self.target: UUID | None = None
        """The attempt hunks are taken into (`m`)."""
        self.hunks: list[AttemptHunk] = []
        self.hunks_of: UUID | None = None
        self._live_timer: Timer | None = None

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    @property
    def selected(self) -> AttemptRow | None:
        return self.rows[self.index] if 0 <= self.index < len(self.rows) else None

    def compose(self) -> ComposeResult:
        yield Label("", id="attempts-title")
        yield Horizontal(id="attempt-columns")
        yield Static("", id="attempt-hint")
        with Horizontal(id="attempt-hunks-row"):
            yield OptionList(id="attempt-hunks")
            yield Static(Text(EMPTY_PREVIEW, style="dim"), id="attempt-hunk-preview")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#attempt-hunks", OptionList).can_focus = False
        await self._show()
        self.reload()

    # -- reading ----------------------------------------------------------------------------

    @work(group="attempts-load", exclusive=True, exit_on_error=False)
    async def reload(self) -> None:
        from asynccoder_tui.services import attempts

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("read the attempts"):
            self.rows = await attempts.list_attempts(ctx, self.task_id)
            await self._show()

    def live_changed(self, task_ids: frozenset[UUID]) -> None:
        """The main screen heard these tasks changed: re-read if one is ours (at most every
        `LIVE_DELAY` seconds: a running attempt's transcript grows many times a second)."""
        if self._live_timer is None and any(r.id in task_ids for r in self.rows):

            def fire() -> None:
                self._live_timer = None
                self.reload()

            self._live_timer = self.set_timer(LIVE_DELAY, fire)

    async def _show(self) -> None:
        box = self.query_one("#attempt-columns")
        total = len(self.rows)
        self.index = min(self.index, max(total - 1, 0))
        columns = list(box.query(AttemptColumn))
        if len(columns) != total:
            await box.remove_children()
            columns = [AttemptColumn(r, n, total, target=False) for n, r in enumerate(self.rows, 1)]
            await box.mount_all(columns)
        kept = [r for r in self.rows if not r.discarded]
        picked = kept[0].id if len(kept) == 1 and total > 1 else None
        for n, (column, row) in enumerate(zip(columns, self.rows, strict=True), 1):
            column.show(row, n, total, target=row.id == self.target, picked=row.id == picked)
            column.set_class(n - 1 == self.index, "-selected")
        title = self.rows[0].title.rsplit(" (attempt ", 1)[0] if self.rows else ""
        self.query_one("#attempts-title", Label).update(
            Text.assemble(("Attempts  ", "bold"), safe(title, 100))
        )
        self._hint()

    def _hint(self) -> None:
        kept = [n for n, r in enumerate(self.rows, 1) if not r.discarded]
        if len(self.rows) > 1 and len(kept) == 1:
            self.query_one("#attempt-hint", Static).update(
                Text(
                    f"attempt {kept[0]} was picked; the others were cleaned up  ·  d opens its "
                    "diff  ·  esc goes back"
                )
            )
            return
        target = next((n for n, r in enumerate(self.rows, 1) if r.id == self.target), None)
        into = (
            f"hunks taken with t go into attempt {target}"
            if target
            else "m marks the attempt that takes hunks"
        )
        self.query_one("#attempt-hint", Static).update(
            Text(f"o lists the selected attempt's hunks  ·  {into}  ·  p picks one")
        )

    # -- moving -----------------------------------------------------------------------------

    async def action_move(self, step: int) -> None:
        if not self.rows:
            return
        self.index = (self.index + step) % len(self.rows)
        await self._show()
        if self.hunks_of is not None:
            self.action_hunks()

    def action_back(self) -> None:
        if self.hunks_of is not None:
            self._close_hunks()
            return
        self.dismiss(None)

    def _close_hunks(self) -> None:
        options = self.query_one("#attempt-hunks", OptionList)
        options.clear_options()
        options.border_title = None
        options.can_focus = False
        self.set_focus(None)
        self.hunks, self.hunks_of = [], None
        self.query_one("#attempt-hunk-preview", Static).update(Text(EMPTY_PREVIEW, style="dim"))

    def action_open_diff(self) -> None:
        row = self.selected
        if row is not None:
            self.open_diff(row.id)

    @work(group="attempts-diff", exclusive=True, exit_on_error=False)
    async def open_diff(self, task_id: UUID) -> None:
        from asynccoder_tui.services import tasks

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("open the attempt's diff"):
            task = await tasks.get_task(ctx, task_id)
            main = self.ctx_app.main_screen
            self.dismiss(None)
            main.jump_to_task(task)
            main.action_focus_pane("diff")

    # -- hunks ------------------------------------------------------------------------------

    async def action_mark_target(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.discarded:
            self.notify("A discarded attempt cannot take hunks", severity="warning", timeout=3)
            return
        self.target = None if self.target == row.id else row.id
        await self._show()

    def action_hunks(self) -> None:
        row = self.selected
        if row is not None:
            self.load_hunks(row.id)

    @work(group="attempts-hunks", exclusive=True, exit_on_error=False)
    async def load_hunks(self, task_id: UUID) -> None:
        from asynccoder_tui.services import attempts

        ctx = self.ctx_app.context
        if ctx is None:
            return
        options = self.query_one("#attempt-hunks", OptionList)
        options.loading = True
        try:
            with self.ctx_app.reporting("read the attempt's hunks"):
                self.hunks = await attempts.attempt_hunks(ctx, task_id)
                self.hunks_of = task_id
                number = next(n for n, r in enumerate(self.rows, 1) if r.id == task_id)
                options.border_title = f"Hunks of attempt {number}"
                options.clear_options()
                options.add_options(
                    [
                        Option(
                            Text.assemble(
                                (f"{h.number:>3} ", "bold"),
                                safe(h.path, 50),
                                (f"  +{h.added}", "green"),
                                (f" -{h.removed}", "red"),
                            ),
                            id=str(h.number),
                        )
                        for h in self.hunks
                    ]
                )
                if self.hunks:
                    options.can_focus = True
                    options.highlighted = 0
                    options.focus()
                else:
                    self.query_one("#attempt-hunk-preview", Static).update(
                        Text("This attempt changed nothing.", style="dim")
                    )
        finally:
            options.loading = False

    @on(OptionList.OptionHighlighted, "#attempt-hunks")
    def _hunk_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        hunk = self._highlighted_hunk()
        preview = self.query_one("#attempt-hunk-preview", Static)
        preview.update(render_hunk(hunk) if hunk is not None else "")

    def _highlighted_hunk(self) -> AttemptHunk | None:
        index = self.query_one("#attempt-hunks", OptionList).highlighted
        if index is None or not 0 <= index < len(self.hunks):
            return None
        return self.hunks[index]

    def action_take_hunk(self) -> None:
        hunk = self._highlighted_hunk()
        if hunk is None or self.hunks_of is None:
            self.notify("Open an attempt's hunks first (o)", severity="warning", timeout=3)
            return
        if self.target is None:
            self.notify(
                "Mark the attempt that takes the hunk first (m)", severity="warning", timeout=3
            )
            return
        if self.target == self.hunks_of:
            self.notify("That hunk is already this attempt's own", severity="warning", timeout=3)
            return
        self.take_hunk(self.hunks_of, hunk, self.target)

    @work(group="attempts-take", exclusive=True, exit_on_error=False)
    async def take_hunk(self, source: UUID, hunk: AttemptHunk, into: UUID) -> None:
        from asynccoder_tui.services import attempts

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("take the hunk"):
            await attempts.take_hunk(ctx, source, hunk.number, into=into, expected_id=hunk.id)
            number = next(n for n, r in enumerate(self.rows, 1) if r.id == into)
            self.notify(
                f"Took hunk {hunk.number} ({safe(hunk.path, 60)}) into attempt {number}",
                title="Hunk taken",
                markup=False,
            )

    # -- picking ----------------------------------------------------------------------------

    def action_pick(self) -> None:
        from asynccoder_tui.tui.screens.dialogs import Confirm

        row = self.selected
        if row is None:
            return
        others = sum(1 for r in self.rows if r.id != row.id and not r.discarded)
        self.app.push_screen(
            Confirm(
                f"Pick attempt {self.index + 1} ({safe(row.model, 40)})?",
                f"The {others} other attempt(s) are cancelled if still running, and their "
                "workspaces and branches are removed. Take any hunks you want from them first.",
                yes="Pick",
            ),
            lambda yes: self._pick_confirmed(row.id, yes),
        )

    def _pick_confirmed(self, task_id: UUID, yes: bool | None) -> None:
        if yes:
            self.pick(task_id)

    @work(group="attempts-pick", exclusive=True, exit_on_error=False)
    async def pick(self, task_id: UUID) -> None:
        from asynccoder_tui.services import attempts

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("pick the attempt"):
            discarded = await attempts.pick(ctx, task_id)
            self.target = None
            self._close_hunks()
            self.notify(
                f"Picked; {len(discarded)} other attempt(s) cleaned up", title="Attempt picked"
            )
            self.reload()
