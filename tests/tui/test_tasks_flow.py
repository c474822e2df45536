"""The task flows from the keyboard: add a repository, submit on the scripted model and watch
it finish live, follow up, cancel, retry; the demo from the welcome screen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Select, TextArea

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.tui.app import AsyncCoderApp
from asynccoder_tui.tui.screens.new_task import NewTaskScreen

from .conftest import ready, screen_text, toasts, until


async def _type(pilot, text: str) -> None:
    await pilot.press(*[{" ": "space"}.get(c, c) for c in text])


async def test_add_repo_submit_watch_follow_up(ui_settings, make_repo) -> None:
    root: Path = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        main = app.main_screen

        # Add the repository: pane 1, `a`, a path.
        await pilot.press("1", "a")
        await until(pilot, lambda: type(app.screen).__name__ == "TextPrompt", what="the dialog")
        app.screen.query_one("#prompt-text", Input).value = str(root)
        await pilot.press("enter")
        await until(pilot, lambda: len(main.repos.repositories) == 1, what="the repository")
        repo = main.repos.first_repository()
        assert repo is not None and repo.local_path == str(root)
        await until(pilot, lambda: main.repository is not None, what="the repository selected")
        assert "repo: widgets" in screen_text(app)

        # New task: repository preselected, the scripted model, a prompt typed in.
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewTaskScreen), what="new task")
        dialog = app.screen
        await until(
            pilot, lambda: dialog.query_one("#model", Select).value != Select.NULL, what="models"
        )
        assert dialog.query_one("#repo", Select).value == str(repo.id)
        dialog.query_one("#model", Select).value = "scripted:demo"
        dialog.query_one("#prompt", TextArea).focus()
        await _type(pilot, "Improve the README")
        await until(pilot, lambda: dialog.estimate is not None, what="the estimate")
        assert "credits expected" in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is main, what="the dialog to close")

        # The task shows at once, runs in the app's worker pool and finishes live.
        table = main.tasks.table
        assert table.row_count == 1 and main.selected is not None
        task_id = main.selected.id
        await until(
            pilot,
            lambda: (t := table.loaded_task(task_id)) is not None and t.status.is_final,
            timeout=60,
            what="the task to finish",
        )
        done = table.loaded_task(task_id)
        assert done is not None and done.status is TaskStatus.COMPLETED, done.error
        assert any("Task completed" in t for t in toasts(app))
        assert app.bell_count == 0  # the app is in front: a toast, no bell
        view = main.chat.view
        await until(pilot, lambda: main.chat.last_seq >= 10, what="the transcript")
        assert "finish" in screen_text(app) or view.event_count > 10
        await until(pilot, lambda: len(main.review.view.files) == 1, what="the diff")
        assert main.review.view.files[0].path == "README.md"
        assert main.header.balance is not None and main.header.balance < 10_000

        # Enter on the task opens its transcript; follow up from there.
        main.tasks.focus_main()
        await pilot.press("enter")
        assert main.focused_pane() == "chat"
        await pilot.press("f")
        follow = main.chat.query_one("#follow-up", Input)
        assert follow.has_focus
        await _type(pilot, "Also mention the tests")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (t := table.loaded_task(task_id)) is not None and t.billing_run == 2,
            what="the follow-up to queue the task",
        )
        await until(
            pilot,
            lambda: (
                (t := table.loaded_task(task_id)) is not None
                and t.status is TaskStatus.COMPLETED
                and t.billing_run == 2
            ),
            timeout=60,
            what="the follow-up run",
        )
        await until(
            pilot,
            lambda: any("Also mention the tests" in i.shape.text for i in main.chat.view.items),
            what="the follow-up in the transcript",
        )

        # A task submitted elsewhere finishes while the user looks at another window: the bell.
        from asynccoder_tui.services import tasks

        app.app_focus = False
        assert app.context is not None
        other = await tasks.submit(
            app.context,
            tasks.SubmitRequest(repository=str(root), prompt="Again", model="scripted:echo"),
        )
        await until(
            pilot,
            lambda: (t := table.loaded_task(other.id)) is not None and t.status.is_final,
            timeout=60,
            what="the second task",
        )
        # The bell follows the status change on its own path; the follow-up above may ring too.
        await until(pilot, lambda: app.bell_count >= 1, what="the bell")
        await pilot.press("q")


async def test_cancel_and_retry(ui_settings, make_repo) -> None:
    from asynccoder_tui.services import repos, tasks

    root = make_repo()
    app = AsyncCoderApp(ui_settings())
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot)
        ctx = app.context
        assert ctx is not None
        await repos.add_repo(ctx, str(root))
        # Submitted elsewhere (the CLI, another terminal): it shows up through the bus.
        task = await tasks.submit(
            ctx, tasks.SubmitRequest(repository=str(root), prompt="Go slow", model="scripted:slow")
        )
        main = app.main_screen
        table = main.tasks.table
        await until(pilot, lambda: table.loaded_task(task.id) is not None, what="the new row")
        await until(
            pilot,
            lambda: (
                (t := table.loaded_task(task.id)) is not None and t.status is TaskStatus.RUNNING
            ),
            what="the task to run",
        )
        assert "running" in screen_text(app)
        main.tasks.focus_main()
        await pilot.press("c")
        await until(
            pilot,
            lambda: (
                (t := table.loaded_task(task.id)) is not None and t.status is TaskStatus.CANCELLED
            ),
            timeout=30,
            what="the cancel",
        )
        assert any("Task cancelled" in t for t in toasts(app))
        await pilot.press("r")
        await until(
            pilot,
            lambda: (
                (t := table.loaded_task(task.id)) is not None
                and t.status in (TaskStatus.QUEUED, TaskStatus.RUNNING)
            ),
            what="the retry",
        )
        await pilot.press("c")
        await until(
            pilot,
            lambda: (t := table.loaded_task(task.id)) is not None and t.status.is_final,
            timeout=30,
            what="the second cancel",
        )
        await pilot.press("q")


async def test_demo_from_the_welcome_screen(ui_settings) -> None:
    app = AsyncCoderApp(ui_settings(worker_concurrency=0))
    async with app.run_test(size=(160, 45)) as pilot:
        await ready(app, pilot, dismiss_welcome=False)
        await until(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen", what="welcome")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, NewTaskScreen), what="new task")
        dialog = app.screen
        await until(
            pilot,
            lambda: dialog.query_one("#model", Select).value == "scripted:demo",
            what="the demo model",
        )
        assert "Improve the README" in dialog.query_one("#prompt", TextArea).text
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is app.main_screen, what="the main screen")
        repo = app.main_screen.repos.first_repository()
        assert repo is not None and repo.name == "demo-project"
        assert app.main_screen.tasks.table.row_count == 1
        await pilot.press("q")
