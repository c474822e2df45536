"""Command palette (`ctrl+p`) providers: every action of the app, and jump to a repository or a
task by name (searched in the database, so it reaches tasks that are not loaded)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

if TYPE_CHECKING:
    from asynccoder_tui.tui.app import AsyncCoderApp
    from asynccoder_tui.tui.screens.main import MainScreen


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    help: str
    run: Callable[[AsyncCoderApp], Any]
    main_only: bool = True


def _main(app: AsyncCoderApp) -> MainScreen:
    return app.main_screen


def _settings_table(table: str) -> Callable[[AsyncCoderApp], Any]:
    """Open settings (unless it is open) with the cursor in its models or agents table."""

    def run(app: AsyncCoderApp) -> Any:
        from asynccoder_tui.tui.screens.settings import SettingsScreen

        if isinstance(app.screen, SettingsScreen):
            app.screen.query_one(f"#{table}").focus()
        else:
            app.push_screen(SettingsScreen(focus=table))

    return run


def _pane(name: str, action: str) -> Callable[[AsyncCoderApp], Any]:
    def run(app: AsyncCoderApp) -> Any:
        main = _main(app)
        main.action_focus_pane(name)
        target = {
            "repos": main.repos,
            "tasks": main.tasks,
            "chat": main.chat,
            "diff": main.review,
        }[name]
        view_actions = {
            "diff": main.review.view,
            "chat": main.chat.view,
        }
        for node in (target, view_actions.get(name)):
            method = getattr(node, f"action_{action}", None)
            if callable(method):
                return method()
        return None

    return run


COMMANDS: tuple[PaletteCommand, ...] = (
    PaletteCommand("New task", "Hand a task to an agent", lambda app: _main(app).action_new_task()),
    PaletteCommand(
        "Cancel task", "Cancel the selected task", lambda app: _main(app).action_cancel_task()
    ),
    PaletteCommand(
        "Retry task", "Run a failed or cancelled task again", lambda app: _main(app).action_retry_task()
    ),
    PaletteCommand(
        "Follow up", "Send the agent a follow-up message", lambda app: _main(app).action_follow_up()
    ),
    PaletteCommand("Add repository", "A local path or a GitHub owner/name", _pane("repos", "add")),
    PaletteCommand("Sync from GitHub", "Refresh your GitHub repositories", _pane("repos", "sync")),
    PaletteCommand("Archive repository", "Archive the selected repository", _pane("repos", "archive")),
    PaletteCommand("Undo archive", "Restore the last archived repository", _pane("repos", "undo_archive")),
    PaletteCommand("Repository settings", "Test and setup commands, review, network, copy files", _pane("repos", "settings")),
    PaletteCommand("Filter repositories", "Filter the repos pane by name", _pane("repos", "filter")),
    PaletteCommand("Search tasks", "Search task titles and prompts", _pane("tasks", "search")),
    PaletteCommand("Filter tasks by status", "all, active, completed, failed", _pane("tasks", "filter_status")),
    PaletteCommand("Sort tasks", "newest, oldest, status, cost, updated", _pane("tasks", "cycle_sort")),
    PaletteCommand("Focus repos", "Pane 1", lambda app: _main(app).action_focus_pane("repos")),
    PaletteCommand("Focus tasks", "Pane 2", lambda app: _main(app).action_focus_pane("tasks")),
    PaletteCommand("Focus chat", "Pane 3", lambda app: _main(app).action_focus_pane("chat")),
    PaletteCommand("Focus diff", "Pane 4", lambda app: _main(app).action_focus_pane("diff")),
    PaletteCommand("Follow transcript", "Scroll the chat to the newest output", _pane("chat", "follow")),
    PaletteCommand("Expand tool call", "Show or hide a tool call's details", _pane("chat", "toggle_tool")),
    PaletteCommand("Next hunk", "Diff: next hunk", _pane("diff", "next_hunk")),
    PaletteCommand("Previous hunk", "Diff: previous hunk", _pane("diff", "previous_hunk")),
    PaletteCommand("Next file", "Diff: next file", _pane("diff", "next_file")),
    PaletteCommand("Previous file", "Diff: previous file", _pane("diff", "previous_file")),
    PaletteCommand("Accept or reject hunk", "Rejecting reverts it in the workspace", _pane("diff", "toggle_hunk")),
    PaletteCommand("Mark file reviewed", "Diff: toggle the reviewed mark", _pane("diff", "toggle_reviewed")),
    PaletteCommand("Comment on hunk", "Diff: write a comment for the agent", _pane("diff", "comment")),
    PaletteCommand("Send review comments", "Send all comments as one follow-up", _pane("diff", "send_comments")),
    PaletteCommand("Toggle split diff", "Side by side or unified", _pane("diff", "toggle_split")),
    PaletteCommand("Open file in editor", "Open the file under the cursor in $EDITOR", _pane("diff", "open_editor")),
    PaletteCommand("Refresh diff", "Re-read the task's changes", _pane("diff", "refresh")),
    PaletteCommand("Create pull request", "Commit, push and open a pull request", _pane("diff", "pull_request")),
    PaletteCommand("Refresh pull request state", "Read the PR's state from GitHub", _pane("diff", "sync_pull_request")),
    PaletteCommand("Attempts side by side", "Best-of-N: compare, take hunks, pick one", lambda app: _main(app).action_attempts()),
    PaletteCommand("Approve plan", "Queue the planner's subtasks", _pane("diff", "approve_plan")),
    PaletteCommand("Edit plan", "Change a proposed plan's subtasks before approving it", _pane("diff", "edit_plan")),
    PaletteCommand("Resume plan", "Merge the subtask that stopped the plan again", lambda app: _main(app).action_resume_plan("continue")),
    PaletteCommand("Skip subtask", "Leave out the subtask that stopped the plan", lambda app: _main(app).action_resume_plan("skip")),
    PaletteCommand("Reload", "Re-read everything from the database", lambda app: _main(app).action_reload()),
    PaletteCommand("Try the demo", "Sample repository and the scripted model, offline", lambda app: _main(app).start_demo()),
    PaletteCommand("Usage and credits", "Balance, ledger, cost per model and day", lambda app: app.action_usage(), main_only=False),
    PaletteCommand("Settings", "Keys, defaults, workers, theme", lambda app: app.action_settings(), main_only=False),
    PaletteCommand("Models and prices", "Settings: edit prices, enable, disable or add models", _settings_table("models"), main_only=False),
    PaletteCommand("Agents", "Settings: each role's system prompt, default model and tools", _settings_table("agents"), main_only=False),
    PaletteCommand("Help", "Every key binding of this screen", lambda app: app.action_help(), main_only=False),
    PaletteCommand("Quit", "Leave Async Coder", lambda app: app.exit(0), main_only=False),
)  # fmt: skip


class ActionsProvider(Provider):
    """Every action of the app."""

    def _commands(self) -> list[PaletteCommand]:
        from asynccoder_tui.tui.screens.main import MainScreen

        on_main = isinstance(self.screen, MainScreen)
        return [c for c in COMMANDS if on_main or not c.main_only]

    def _runner(self, command: PaletteCommand) -> Callable[[], Any]:
        return partial(command.run, self.app)  # type: ignore[arg-type]

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, self._runner(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    self._runner(command),
                    help=command.help,
                )


class JumpProvider(Provider):
    """Jump to a repository or a task by name."""

    async def search(self, query: str) -> Hits:
        from asynccoder_tui.domain.queries import TaskFilter
        from asynccoder_tui.services import repos, tasks
        from asynccoder_tui.tui.format import safe
        from asynccoder_tui.tui.screens.main import MainScreen

        app: AsyncCoderApp = self.app  # type: ignore[assignment]
        ctx = app.context
        text = query.strip()
        if ctx is None or len(text) < 2 or not isinstance(self.screen, MainScreen):
            return
        matcher = self.matcher(text)
        main = app.main_screen
        try:
            found_repos = await repos.list_repos(ctx, text=text)
            found_tasks = await tasks.list_tasks(ctx, filters=TaskFilter(text=text), limit=10)
        except Exception:
            return
        for row in found_repos[:10]:
            name = safe(row.repository.display_name, 60)
            yield Hit(
                max(matcher.match(name), 0.05),
                Content.assemble(("repo  ", "dim"), matcher.highlight(name)),
                partial(main.jump_to_repository, row.repository),
                text=f"repo {name}",
                help=f"{safe(row.repository.default_branch, 30)} · {row.open_tasks} open",
            )
        for task in found_tasks:
            title = safe(task.title, 70)
            yield Hit(
                max(matcher.match(title), 0.05),
                Content.assemble(("task  ", "dim"), matcher.highlight(title)),
                partial(main.jump_to_task, task),
                text=f"task {title}",
                help=f"{task.status.value} · {safe(task.model, 30)}",
            )
