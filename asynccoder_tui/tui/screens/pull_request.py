"""The pull-request dialog: edit the title and body, choose draft, then commit, push and open.

Progress lines from the review service show as they happen; a failure stays in the dialog with
what to do, so the user can fix it (a token, a remote) and try again without retyping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static, TextArea

from asynccoder_tui.domain.errors import AsyncCoderError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.tui.format import safe

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp


class PullRequestScreen(ModalScreen[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Close", id="pull_request.cancel"),
        Binding("ctrl+s", "create", "Create", id="pull_request.create"),
    ]

    def __init__(self, task: Task) -> None:
        super().__init__(classes="dialog-screen", id="pull-request")
        self.task_ = task
        self.result: Any = None
        self._busy = False

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        from asynccoder_tui.services.review import default_body

        with Vertical(classes="dialog -wide"):
            yield Label(Text("Open a pull request", style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    "Commits what is left in the workspace after your review, pushes the task "
                    "branch and opens the pull request.",
                    style="dim",
                ),
                classes="dialog-help",
            )
            with Horizontal(classes="form-row"):
                yield Label("Title", classes="form-label")
                yield Input(safe(self.task_.title, 250), id="pr-title")
            yield Label("Body", classes="form-caption")
            yield TextArea(inert_body(default_body(self.task_)), id="pr-body", soft_wrap=True)
            yield Checkbox("Draft", id="pr-draft")
            yield Static("", id="pr-progress")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s creates · esc closes", classes="dialog-hint")
                yield Button("Close", id="cancel")
                yield Button("Create pull request", id="create", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#pr-title", Input).focus()

    def action_cancel(self) -> None:
        if not self._busy:
            self.dismiss(self.result)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    @on(Button.Pressed, "#create")
    def _create(self) -> None:
        self.action_create()

    def action_create(self) -> None:
        if self._busy or self.result is not None:
            return
        self._busy = True
        self.create()

    def _progress(self, line: str, style: str = "") -> None:
        self.query_one("#pr-progress", Static).update(Text(line, style=style))

    @work(group="pull-request", exclusive=True, exit_on_error=False)
    async def create(self) -> None:
        from asynccoder_tui.services import review

        ctx = self.ctx_app.context
        button = self.query_one("#create", Button)
        button.loading = True
        try:
            if ctx is None:
                return
            pr = await review.create_pull_request(
                ctx,
                self.task_.id,
                title=self.query_one("#pr-title", Input).value,
                body=self.query_one("#pr-body", TextArea).text,
                draft=self.query_one("#pr-draft", Checkbox).value,
                progress=lambda line: self._progress(f"… {safe(line, 120)}"),
            )
        except AsyncCoderError as err:
            message = safe(err.message) + (f"\n→ {safe(err.hint)}" if err.hint else "")
            self._progress(message, "bold red")
            return
        except Exception as err:
            self.ctx_app.report_error(err, "open the pull request")
            self._progress("Failed; see the notification.", "bold red")
            return
        finally:
            self._busy = False
            button.loading = False
        self.result = pr
        self._progress(
            f"Pull request #{pr.number} ({pr.state.value}): {safe(pr.url)}", "bold green"
        )
        button.disabled = True
        self.notify(f"#{pr.number}: {safe(pr.url)}", title="Pull request opened", markup=False)


def inert_body(text: str) -> str:
    from asynccoder_tui.domain.text import inert

    return inert(text)
