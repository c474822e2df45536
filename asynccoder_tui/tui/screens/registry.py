"""Which classes carry key bindings, grouped as the help screen shows them.

The help screen lists the groups of the screen it was opened from; the app checks the ids in
the `keybindings` setting against every class listed here.
"""

from __future__ import annotations

from typing import Any


def main_screen_groups() -> list[tuple[str, list[type[Any]]]]:
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.screens.main import MainScreen
    from asynccoder_tui.tui.widgets.chat_pane import ChatPane
    from asynccoder_tui.tui.widgets.diff_view import DiffView
    from asynccoder_tui.tui.widgets.repos_pane import ReposPane, ReposTable
    from asynccoder_tui.tui.widgets.review_pane import ReviewPane
    from asynccoder_tui.tui.widgets.tasks_pane import TasksPane
    from asynccoder_tui.tui.widgets.tasks_table import TasksTable
    from asynccoder_tui.tui.widgets.transcript_view import TranscriptView

    return [
        ("Everywhere", [AsyncCoderApp]),
        ("Main screen", [MainScreen]),
        ("1 Repos", [ReposPane, ReposTable]),
        ("2 Tasks", [TasksPane, TasksTable]),
        ("3 Chat", [ChatPane, TranscriptView]),
        ("4 Diff", [ReviewPane, DiffView]),
    ]


def other_screens() -> list[type[Any]]:
    from asynccoder_tui.tui.screens.agent_editor import AgentEditor, AgentTable
    from asynccoder_tui.tui.screens.attempts import AttemptsScreen
    from asynccoder_tui.tui.screens.dialogs import Confirm, ErrorDialog, TextPrompt
    from asynccoder_tui.tui.screens.help import HelpScreen
    from asynccoder_tui.tui.screens.model_editor import ModelEditor, ModelTable
    from asynccoder_tui.tui.screens.new_task import NewTaskScreen
    from asynccoder_tui.tui.screens.plan_editor import PlanEditor
    from asynccoder_tui.tui.screens.pull_request import PullRequestScreen
    from asynccoder_tui.tui.screens.settings import SettingsScreen
    from asynccoder_tui.tui.screens.usage import UsageScreen
    from asynccoder_tui.tui.screens.welcome import WelcomeScreen

    return [
        NewTaskScreen,
        AttemptsScreen,
        PullRequestScreen,
        UsageScreen,
        SettingsScreen,
        ModelTable,
        AgentTable,
        ModelEditor,
        AgentEditor,
        PlanEditor,
        HelpScreen,
        WelcomeScreen,
        TextPrompt,
        Confirm,
        ErrorDialog,
    ]


def binding_classes() -> list[type[Any]]:
    classes = [cls for _, group in main_screen_groups() for cls in group]
    return classes + other_screens()


def screen_groups(screen: Any) -> list[tuple[str, list[type[Any]]]]:
    """The binding groups to show for `screen`."""
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.screens.main import MainScreen

    if isinstance(screen, MainScreen):
        return main_screen_groups()
    title = getattr(screen, "HELP_TITLE", None) or type(screen).__name__.removesuffix("Screen")
    # A screen may name the widgets whose keys it shows too (settings: its tables).
    return [
        ("Everywhere", [AsyncCoderApp]),
        (title, [type(screen), *getattr(screen, "HELP_CLASSES", ())]),
    ]
