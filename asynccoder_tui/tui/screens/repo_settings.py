"""The repository settings dialog (`e` in the repos pane): test and setup commands, automatic
review and its model, network for sandboxed commands, and the files copied into workspaces.

The dialog only gathers what is set; the save callable it is given (the repos pane's, which
calls `services.repos.update_repo_settings`) validates and writes, and a refusal is shown in
the dialog, which stays open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from asynccoder_tui.domain.models import Repository
from asynccoder_tui.services.repos import EffectiveRepoSettings
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.screens.editor_dialog import EditorDialog

# The values the dialog hands to its save callable: `update_repo_settings`' keywords.
RepoSettingsValues = dict[str, Any]

REVIEW_CHOICES = (
    ("off", "off"),
    ("on: review each coding commit", "on"),
    ("required: before a pull request", "required"),
)
AGENT_DEFAULT = ""


class RepoSettingsDialog(EditorDialog[RepoSettingsValues, EffectiveRepoSettings]):
    """Edit one repository's settings. `models` are the enabled models' names."""

    HELP_TITLE = "Repository settings"
    # The app's stylesheet (`.dialog`, `.dialog-title`...) wins over these; they only add.
    DEFAULT_CSS = """
    RepoSettingsDialog #repo-settings Input {
        width: 1fr;
    }
    RepoSettingsDialog #repo-settings Select {
        width: 1fr;
    }
    RepoSettingsDialog .editor-row {
        margin-bottom: 0;
    }
    RepoSettingsDialog #network {
        width: 1fr;
    }
    """

    def __init__(
        self,
        repo: Repository,
        settings: EffectiveRepoSettings,
        models: Sequence[str],
        save: Callable[[RepoSettingsValues], Awaitable[EffectiveRepoSettings]],
    ) -> None:
        super().__init__(save)
        self.repo = repo
        self.current = settings
        self.models = list(models)

    def compose(self) -> ComposeResult:
        s = self.current
        models: list[tuple[str, str]] = [("agent default", AGENT_DEFAULT)]
        models += [(safe(name, 40), name) for name in self.models]
        if s.review_model and s.review_model not in self.models:
            models.append((f"{safe(s.review_model, 40)} (not enabled)", s.review_model))
        network_help = "sandboxed commands may use the network"
        if s.network is None:
            network_help += " (now: the global setting)"
        with Vertical(classes="dialog -wide", id="repo-settings"):
            yield Label(
                Text(f"Settings of {safe(self.repo.display_name, 50)}", style="bold"),
                classes="dialog-title",
            )
            yield Static(
                Text(
                    "The test command runs in the sandbox after each coding run (best-of-N "
                    "shows its result); the setup command runs in each new workspace first. "
                    "Leave a field empty to clear it."
                ),
                classes="dialog-help",
            )
            with Horizontal(classes="editor-row"):
                yield Label("Test command", classes="editor-label")
                yield Input(
                    s.test_command or "", placeholder="e.g. pytest -q", id="test_command",
                    compact=True,
                )  # fmt: skip
            with Horizontal(classes="editor-row"):
                yield Label("Setup command", classes="editor-label")
                yield Input(
                    s.setup_command or "", placeholder="e.g. pip install -e .",
                    id="setup_command", compact=True,
                )  # fmt: skip
            with Horizontal(classes="editor-row"):
                yield Label("Review", classes="editor-label")
                yield Select[str](
                    REVIEW_CHOICES, value=s.review, allow_blank=False, id="review", compact=True
                )
            with Horizontal(classes="editor-row"):
                yield Label("Review model", classes="editor-label")
                yield Select[str](
                    models, value=s.review_model or AGENT_DEFAULT, allow_blank=False,
                    id="review_model", compact=True,
                )  # fmt: skip
            with Horizontal(classes="editor-row"):
                yield Label("Network", classes="editor-label")
                yield Checkbox(network_help, s.network_effective, id="network", compact=True)
            with Horizontal(classes="editor-row"):
                yield Label("Copy files", classes="editor-label")
                yield Input(
                    ", ".join(s.copy_files), placeholder=".env, config/local.toml",
                    id="copy_files", compact=True,
                )  # fmt: skip
            yield Static("", id="editor-error")
            with Horizontal(classes="dialog-buttons"):
                yield Static("ctrl+s or enter saves · esc cancels", classes="dialog-hint")
                yield Button("Cancel", id="editor-cancel")
                yield Button("Save", id="editor-save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#test_command", Input).focus()

    def values(self) -> RepoSettingsValues:
        review = self.query_one("#review", Select).value
        model = self.query_one("#review_model", Select).value
        values: RepoSettingsValues = {
            "test_command": self.query_one("#test_command", Input).value,
            "setup_command": self.query_one("#setup_command", Input).value,
            "review": self.current.review if review is Select.NULL else str(review),
            "review_model": "" if model is Select.NULL else str(model),
            "copy_files": self.query_one("#copy_files", Input).value,
        }
        network = self.query_one("#network", Checkbox).value
        if network != self.current.network_effective:  # untouched: the global setting decides
            values["network"] = network
        return values
