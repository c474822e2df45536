"""The new-task dialog: repository, base branch, mode, model, priority, prompt and its cost;
"plan first" (a planner proposes subtasks to approve) or best-of-N (1 to 4 attempts, optionally
one model per attempt).

The estimate (cost range, credits expected and held, balance, summed over the attempts) is
re-read as the prompt, model, mode or attempts change, and a refusal (no key for the model, not
enough credits, a limit) is shown in words before the user submits; submitting re-checks
everything in the service and shows any refusal in the same place. The dialog returns the
queued task (the first attempt of several), or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from asynccoder_tui.domain.enums import Priority, TaskMode
from asynccoder_tui.domain.errors import AsyncCoderError
from asynccoder_tui.domain.models import Repository, Task
from asynccoder_tui.tui.format import credits, money, safe

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp

ESTIMATE_DELAY = 0.4
MAX_BRANCHES_SHOWN = 50
ATTEMPT_CHOICES = [("1 (one run)", 1)] + [(f"{n} (best of {n})", n) for n in range(2, 5)]


def _price(value: Any) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class NewTaskScreen(ModalScreen[Task | None]):
    DEFAULT_CSS = """
    #new-task-dialog #attempts { width: 24; }
    #new-task-dialog #plan-first { margin-left: 2; border: none; padding: 1 0 0 0; }
    #new-task-dialog #attempt-models-row { display: none; }
    #new-task-dialog #attempt-models-row.-shown { display: block; }
    #new-task-dialog #attempt-models { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new_task.cancel"),
        Binding("ctrl+s", "submit", "Submit", id="new_task.submit"),
    ]

    def __init__(
        self,
        *,
        repository: Repository | None = None,
        model: str | None = None,
        prompt: str | None = None,
    ) -> None:
        super().__init__(classes="dialog-screen", id="new-task")
        self.repository = repository
        self.initial_model = model
        self.initial_prompt = prompt or ""
        self.repositories: dict[str, Repository] = {}
        self.branches: list[str] = []
        self.estimate: Any = None
        self._estimate_timer: Timer | None = None
        self._submitting = False

    @property
    def ctx_app(self) -> AsyncCoderApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        settings = self.ctx_app.settings
        with Vertical(classes="dialog -wide", id="new-task-dialog"):
            yield Label(Text("New task", style="bold"), classes="dialog-title")
            with Horizontal(classes="form-row"):
                yield Label("Repository", classes="form-label")
                yield Select[str]([], id="repo", prompt="choose a repository", allow_blank=True)
            with Horizontal(classes="form-row -tall"):
                yield Label("Base branch", classes="form-label")
                with Vertical(classes="form-field"):
                    yield Input(placeholder="default branch", id="branch")
                    yield OptionList(id="branches")
            with Horizontal(classes="form-row"):
                yield Label("Mode", classes="form-label")
                mode = (
                    settings.default_mode
                    if settings.default_mode in {m.value for m in TaskMode}
                    else "code"
                )
                yield Select[str](
                    [(m.value, m.value) for m in TaskMode], value=mode, allow_blank=False, id="mode"
                )
                yield Label("Priority", classes="form-label -inline")
                yield Select[str](
                    [(p.value, p.value) for p in Priority],
                    value=Priority.MEDIUM.value,
                    allow_blank=False,
                    id="priority",
                )
            with Horizontal(classes="form-row"):
                yield Label("Model", classes="form-label")
                yield Select[str]([], id="model", prompt="loading models…", allow_blank=True)
            with Horizontal(classes="form-row"):
                yield Label("Attempts", classes="form-label")
                yield Select[int](ATTEMPT_CHOICES, value=1, allow_blank=False, id="attempts")
                yield Checkbox("Plan first (a planner proposes subtasks)", id="plan-first")
            with Horizontal(classes="form-row", id="attempt-models-row"):
                yield Label("Attempt models", classes="form-label")
                yield Input(
                    placeholder="optional: one model per attempt, comma-separated",
                    id="attempt-models",
                )
            yield Label("Prompt (what should the agent do?)", classes="form-caption")
            yield TextArea(self.initial_prompt, id="prompt", soft_wrap=True)
            yield Static("", id="estimate")
            yield Static("", id="refusal")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s submits · esc cancels", classes="dialog-hint")
                yield Button("Cancel", id="cancel")
                yield Button("Submit", id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#prompt", TextArea).focus()
        self.query_one("#branches", OptionList).display = False
        self.load_choices()

    # -- choices ----------------------------------------------------------------------------

    @work(group="new-task-load", exclusive=True, exit_on_error=False)
    async def load_choices(self) -> None:
        from asynccoder_tui.services import models, repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        with self.ctx_app.reporting("load repositories and models"):
            rows = await repos.list_repos(ctx)
            self.repositories = {str(r.repository.id): r.repository for r in rows}
            repo_select = self.query_one("#repo", Select)
            repo_select.set_options(
                [(safe(r.repository.display_name, 60), str(r.repository.id)) for r in rows]
            )
            chosen = self.repository or (rows[0].repository if rows else None)
            if chosen is not None and str(chosen.id) in self.repositories:
                repo_select.value = str(chosen.id)
            available = await models.list_models(ctx)
            wanted = self.initial_model or ctx.settings.default_model
            names = [m.name for m in available]
            if wanted not in names and wanted.startswith("scripted:"):
                names.append(wanted)
            model_select = self.query_one("#model", Select)
            labels = {m.name: m for m in available}
            model_select.set_options(
                [(self._model_label(labels.get(name), name), name) for name in names]
            )
            if wanted in names:
                model_select.value = wanted
        self.estimate_soon()

    @staticmethod
    def _model_label(model: Any, name: str) -> str:
        if model is None:
            return safe(name, 50)
        price = f"${_price(model.input_price)}/${_price(model.output_price)} per M tokens"
        return f"{safe(model.display_name, 32)} ({safe(name, 30)}) · {price}"

    @on(Select.Changed, "#repo")
    def _repo_changed(self, event: Select.Changed) -> None:
        repo = self.repositories.get(str(event.value))
        self.repository = repo
        branch = self.query_one("#branch", Input)
        branch.placeholder = f"default: {safe(repo.default_branch, 40)}" if repo else "default"
        branch.value = ""
        if repo is not None:
            self.load_branches(repo)

    @work(group="new-task-branches", exclusive=True, exit_on_error=False)
    async def load_branches(self, repo: Repository) -> None:
        from asynccoder_tui.services import repos

        ctx = self.ctx_app.context
        if ctx is None:
            return
        try:
            self.branches = await repos.list_branches(ctx, repo.id)
        except Exception:
            self.branches = [repo.default_branch]
        self._filter_branches("")

    def _filter_branches(self, query: str) -> None:
        options = self.query_one("#branches", OptionList)
        options.clear_options()
        if query:
            matcher = Matcher(query)
            scored = [(matcher.match(b), b) for b in self.branches]
            found = [b for score, b in sorted(scored, key=lambda s: -s[0]) if score > 0]
        else:
            found = list(self.branches)
        for name in found[:MAX_BRANCHES_SHOWN]:
            options.add_option(Option(Text(safe(name, 80)), id=name))
        options.display = bool(found) and self.query_one("#branch", Input).has_focus

    @on(Input.Changed, "#branch")
    def _branch_typed(self, event: Input.Changed) -> None:
        self._filter_branches(event.value.strip())

    def on_descendant_focus(self, event: Any) -> None:
        branches = self.query_one("#branches", OptionList)
        focused = self.focused
        branches.display = (
            bool(self.branches)
            and focused is not None
            and focused.id
            in (
                "branch",
                "branches",
            )
        )

    @on(Input.Submitted, "#branch")
    def _branch_entered(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#branches", OptionList)
        if options.option_count and event.value.strip() not in self.branches:
            first = options.get_option_at_index(options.highlighted or 0)
            event.input.value = first.id or event.value
        self.query_one("#mode", Select).focus()

    @on(OptionList.OptionSelected, "#branches")
    def _branch_picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#branch", Input).value = event.option.id or ""
        self.query_one("#mode", Select).focus()

    # -- the estimate -----------------------------------------------------------------------

    @on(TextArea.Changed, "#prompt")
    @on(Select.Changed, "#model")
    @on(Select.Changed, "#mode")
    @on(Input.Changed, "#attempt-models")
    def _inputs_changed(self) -> None:
        self.estimate_soon()

    @on(Select.Changed, "#attempts")
    @on(Checkbox.Changed, "#plan-first")
    def _shape_changed(self) -> None:
        plan_first = self.plan_first
        attempts = self.query_one("#attempts", Select)
        if plan_first and attempts.value != 1:
            attempts.value = 1
        attempts.disabled = plan_first
        self.query_one("#mode", Select).disabled = plan_first
        self.query_one("#attempt-models-row").set_class(self.attempts > 1, "-shown")
        self.estimate_soon()

    @property
    def plan_first(self) -> bool:
        return self.query_one("#plan-first", Checkbox).value

    @property
    def attempts(self) -> int:
        value = self.query_one("#attempts", Select).value
        return value if isinstance(value, int) else 1

    def _mode(self) -> TaskMode:
        return TaskMode.PLAN if self.plan_first else TaskMode(self._choice("#mode") or "code")

    def _models(self, default: str | None) -> list[str | None]:
        text = self.query_one("#attempt-models", Input).value if self.attempts > 1 else ""
        from asynccoder_tui.services.attempts import attempt_models

        return attempt_models(text, default, self.attempts)

    def estimate_soon(self) -> None:
        if self._estimate_timer is not None:
            self._estimate_timer.stop()
        self._estimate_timer = self.set_timer(ESTIMATE_DELAY, self._estimate)

    def _estimate(self) -> None:
        self._estimate_timer = None
        self.run_estimate()

    def _choice(self, selector: str) -> str | None:
        value = self.query_one(selector, Select).value
        return None if value is Select.NULL else str(value)

    @work(group="new-task-estimate", exclusive=True, exit_on_error=False)
    async def run_estimate(self) -> None:
        from asynccoder_tui.services import attempts

        ctx = self.ctx_app.context
        model = self._choice("#model")
        if ctx is None or model is None:
            return
        prompt = self.query_one("#prompt", TextArea).text
        mode = self._mode()
        line = self.query_one("#estimate", Static)
        try:
            est = await attempts.estimate_attempts(ctx, prompt, self._models(model), mode=mode)
        except AsyncCoderError as err:
            self.estimate = None
            line.update("")
            self._refuse(err)
            return
        except Exception as err:
            self.ctx_app.report_error(err, "estimate the cost")
            return
        self.estimate = est
        cost = est.cost
        approx = "≈ " if cost.estimated else ""
        line.update(
            Text.assemble(
                ("Estimate ", "bold"),
                (f"for {est.count} attempts: " if est.count > 1 else "", "bold"),
                f"{approx}{money(cost.expected)} ",
                (f"({money(cost.low)} to {money(cost.high)})", "dim"),
                "  ·  ",
                (f"{credits(est.expected_credits)} credits expected, ", ""),
                (f"{credits(est.hold_credits)} held", "dim"),
                "  ·  ",
                (f"balance {credits(est.balance)}", "bold"),
            )
        )
        if not est.affordable:
            what = f"these {est.count} attempts are" if est.count > 1 else "this task is"
            self._refuse_text(
                f"Not enough credits: {what} expected to use {credits(est.expected_credits)} "
                f"and the balance is {credits(est.balance)}."
            )
        elif est.count > 1 and mode.read_only:
            self._refuse_text(
                f"Several attempts compare code changes: mode {mode.value} changes none."
                "\n→ choose code, debug or documentation, or one attempt"
            )
        else:
            self._refuse_text("")

    def _refuse(self, err: AsyncCoderError) -> None:
        text = safe(err.message)
        if err.hint:
            text += f"\n→ {safe(err.hint)}"
        self._refuse_text(text)

    def _refuse_text(self, text: str) -> None:
        refusal = self.query_one("#refusal", Static)
        refusal.update(Text(text, style="bold red") if text else "")
        refusal.display = bool(text)

    # -- submit -----------------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        if self._submitting:
            return
        repo = self._choice("#repo")
        if repo is None:
            self._refuse_text("Choose a repository first (press a in the repos pane to add one).")
            return
        self._submitting = True
        self.submit(repo)

    @work(group="new-task-submit", exclusive=True, exit_on_error=False)
    async def submit(self, repo: str) -> None:
        from asynccoder_tui.services import attempts, tasks

        ctx = self.ctx_app.context
        try:
            if ctx is None:
                return
            request = tasks.SubmitRequest(
                repository=repo,
                prompt=self.query_one("#prompt", TextArea).text,
                mode=self._mode(),
                model=self._choice("#model"),
                base_branch=self.query_one("#branch", Input).value.strip() or None,
                priority=Priority(self._choice("#priority") or "medium"),
            )
            self.query_one("#submit", Button).loading = True
            count = self.attempts
            if count > 1:
                models = [m for m in self._models(request.model) if m]
                made = await attempts.submit_attempts(ctx, request, count, models=models)
                task = made[0]
                self.app.notify(
                    f"{count} attempts queued: compare them with B once they finish",
                    title="Best of N",
                )
            else:
                task = await tasks.submit(ctx, request)
        except AsyncCoderError as err:
            self._refuse(err)
            return
        except Exception as err:
            self.ctx_app.report_error(err, "submit the task")
            return
        finally:
            self._submitting = False
            self.query_one("#submit", Button).loading = False
        self.dismiss(task)
