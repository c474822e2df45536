"""The Textual application: screens, the database connection, live updates and local workers.

The first frame paints before the database is reached: the services (and everything below
them) are imported and the database is opened in a worker after mount, while the panes show
a loading state. If the database cannot be opened the app says so in a banner and retries.
For that frame the theme is chosen before any stylesheet is parsed (so they are parsed once),
and only the styles it needs are read; the other screens' styles, the palette's providers and
the keymap code load after it.

Once connected the app listens to the bus (`tui/live.py`) and forwards live updates to the main
screen, and runs an in-process worker pool (`worker_concurrency`, 0 disables it) that it stops
on exit. Failures of background work go to one place, `report_error()`, which shows them as a
toast with what to do; nothing a service raises ends the app.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.message import Message
from textual.screen import Screen

from asynccoder_tui import __version__
from asynccoder_tui.domain.errors import AsyncCoderError, ConfigError, MigrationError
from asynccoder_tui.tui.format import safe
from asynccoder_tui.tui.messages import ContextFailed, ContextReady
from asynccoder_tui.tui.screens.main import MainScreen
from asynccoder_tui.tui.theme import DEFAULT_THEME, register_themes

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Task
    from asynccoder_tui.services.context import AppContext
    from asynccoder_tui.services.live import LocalWorkers

log = logging.getLogger(__name__)

SERVICE_MODULES = (
    "asynccoder_tui.services.context",
    "asynccoder_tui.services.live",
    "asynccoder_tui.services.repos",
    "asynccoder_tui.services.tasks",
    "asynccoder_tui.services.review",
)
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0)


def styles_dir() -> Path:
    """`styles/` at the repository root in a checkout, `asynccoder_tui/styles` in a wheel."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "styles"
    return installed if installed.is_dir() else package.parent / "styles"


FIRST_FRAME_STYLES = ("global.tcss", "app.tcss", "widgets.tcss")
"""Read before the first frame: the main screen, its panes and what every screen shares."""
LATER_STYLES = ("screens.tcss",)
"""Read right after the first frame, and before any other screen is shown: the dialogs and the
other screens (none of their rules reaches the main screen)."""


def stylesheets(names: Iterable[str] = FIRST_FRAME_STYLES) -> list[str]:
    return [str(styles_dir() / n) for n in names if (styles_dir() / n).is_file()]


# The palette's providers, imported when the palette first opens.
def _actions_provider() -> type[Provider]:
    from asynccoder_tui.tui.commands import ActionsProvider

    return ActionsProvider


def _jump_provider() -> type[Provider]:
    from asynccoder_tui.tui.commands import JumpProvider

    return JumpProvider


def _is_database_failure(err: BaseException) -> bool:
    module = type(err).__module__ or ""
    return module.startswith("asyncpg") or isinstance(err, ConnectionError | OSError)


class AsyncCoderApp(App[int]):
    TITLE = "Async Coder"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH: ClassVar[list[str | Path]] = stylesheets()  # type: ignore[assignment, misc]
    COMMANDS = App.COMMANDS | {_actions_provider, _jump_provider}
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("u", "usage", "Usage", show=False, id="app.usage"),
        Binding("comma", "settings", "Settings", key_display=",", show=False, id="app.settings"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        settings: Settings | Callable[[], Settings],
        *,
        clock: Callable[[], datetime] | None = None,
        animate_spinners: bool = True,
    ) -> None:
        super().__init__()
        register_themes(self)
        # A loader defers reading settings (and importing pydantic) until after the first frame.
        self._settings_loader: Callable[[], Settings] | None = None
        if callable(settings):
            self._settings_loader = settings
            self._start_with_theme(DEFAULT_THEME)
        else:
            self.settings = settings
            self._start_with_theme(self._theme_wanted())
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.animate_spinners = animate_spinners
        self.context: AppContext | None = None
        self.local_workers: LocalWorkers | None = None
        self.connected = False
        self.bell_count = 0
        self.main_screen = MainScreen()
        self._last_error: tuple[str, float] = ("", 0.0)
        self._bugs_shown: set[str] = set()
        self._later_styles_read = False

    # -- start and stop ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self._settings_loader is None:
            self._install_keymap()
        self.push_screen(self.main_screen)
        # After the first frame: the imports below the UI and the connection must not compete
        # with it for the interpreter.
        self.call_after_refresh(self._load_settings_then_connect)

    def _load_settings_then_connect(self) -> None:
        self._read_later_styles()
        if self._settings_loader is not None:
            loader, self._settings_loader = self._settings_loader, None
            try:
                self.settings = loader()
            except AsyncCoderError as err:
                self.main_screen.post_message(ContextFailed(safe(err), None))
                return
            self._install_theme()
            self._install_keymap()
        self.connect()

    def _read_later_styles(self) -> None:
        """Add the stylesheets the first frame does not need (`LATER_STYLES`), once."""
        if self._later_styles_read:
            return
        self._later_styles_read = True
        paths = [Path(path) for path in stylesheets(LATER_STYLES)]
        for path in paths:
            self.stylesheet.read(path)
        self.css_path.extend(paths)  # in development mode a change of these re-reads them too
        if self.css_monitor is not None:
            self.css_monitor.add_paths(paths)
        # Only the new sources are parsed (the others come from the stylesheet's cache); the
        # widgets on screen need no update, as no rule of these reaches the main screen.
        self.stylesheet.parse()

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        if screen is not self.main_screen:
            self._read_later_styles()
        return super().push_screen(screen, *args, **kwargs)

    def _theme_wanted(self) -> str:
        wanted = self.settings.theme
        return wanted if wanted in self.available_themes else "textual-dark"

    def _start_with_theme(self, name: str) -> None:
        """Choose the theme before the app runs, so its stylesheets are parsed once.

        Setting `theme` on a running app parses every stylesheet again with the new theme's
        variables (and, its parse cache emptied, once more when the next widget adds its CSS);
        set here, the first parse already has the right colours. This does what the theme's
        watcher does, without the re-parse.
        """
        if name == self.theme:
            return
        self.set_reactive(App.theme, name)
        theme = self.current_theme
        self.set_class(True, f"-theme-{theme.name}", update=False)
        self.set_class(theme.dark, "-dark-mode", update=False)
        self.set_class(not theme.dark, "-light-mode", update=False)
        self._refresh_truecolor_filter(self.ansi_theme)
        self.stylesheet.set_variables(self.get_css_variables())

    def _install_theme(self) -> None:
        self.theme = self._theme_wanted()

    def all_binding_ids(self) -> set[str]:
        from asynccoder_tui.tui.bindings import binding_ids
        from asynccoder_tui.tui.screens.registry import binding_classes

        ids: set[str] = set()
        for cls in binding_classes():
            ids |= binding_ids(getattr(cls, "BINDINGS", []))
        return ids

    def _install_keymap(self) -> None:
        from asynccoder_tui.tui.bindings import split_keymap

        if not self.settings.keybindings:
            return
        good, unknown = split_keymap(self.settings.keybindings, self.all_binding_ids())
        self.set_keymap(good)
        if unknown:
            self.notify(
                f"Unknown binding ids in keybindings: {', '.join(unknown)}. "
                "The help screen (?) lists the ids.",
                title="Config",
                severity="warning",
                timeout=10,
            )

    @work(exclusive=True, group="database", name="connect", exit_on_error=False)
    async def connect(self) -> None:
        """Open the database (retrying with backoff), then start live updates and workers."""
        for module in SERVICE_MODULES:  # off the event loop: about 0.3 s of imports
            await asyncio.to_thread(importlib.import_module, module)
        from asynccoder_tui.services.context import AppContext

        attempt = 0
        while self.context is None:
            try:
                self.context = await AppContext.open(self.settings)
            except (MigrationError, ConfigError) as err:
                # Waiting will not fix these: say what to do and stop trying.
                self.main_screen.post_message(ContextFailed(safe(err), None))
                return
            except Exception as err:
                if not isinstance(err, AsyncCoderError) and not _is_database_failure(err):
                    log.exception("opening the database failed")
                delay = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                attempt += 1
                self.main_screen.post_message(ContextFailed(safe(err), delay))
                await asyncio.sleep(delay)
        self.settings = self.context.settings
        self.connected = True
        self.listen()
        await self._start_workers()
        self.main_screen.post_message(ContextReady())
        await self._maybe_welcome()

    async def _start_workers(self) -> None:
        concurrency = self.settings.worker_concurrency
        if self.context is None or concurrency <= 0:
            return
        from asynccoder_tui.services.live import start_worker_pool

        with self.reporting("start the workers"):
            self.local_workers = await start_worker_pool(self.context, concurrency=concurrency)

    async def restart_workers(self) -> None:
        """Stop the local worker pool and start it again with the current concurrency."""
        workers, self.local_workers = self.local_workers, None
        if workers is not None:
            with self.reporting("stop the workers"):
                await workers.stop()
        await self._start_workers()

    async def _maybe_welcome(self) -> None:
        from asynccoder_tui.services.onboarding import first_run_state
        from asynccoder_tui.tui.screens.welcome import WelcomeScreen

        if self.context is None:
            return
        with self.reporting("check the set-up"):
            state = await first_run_state(self.context)
            if state.needs_welcome:
                self.push_screen(WelcomeScreen(state), self._after_welcome)

    def _after_welcome(self, choice: str | None) -> None:
        if choice == "demo":
            self.main_screen.start_demo()
        elif choice == "settings":
            self.action_settings()

    @work(exclusive=True, group="live", name="live-updates", exit_on_error=False)
    async def listen(self) -> None:
        from asynccoder_tui.tui.live import listen

        if self.context is None:
            return
        while True:
            try:
                await listen(self.context, self._post_live)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("live updates stopped: %s; retrying", err)
                self._post_live_state(False)
                await asyncio.sleep(2.0)

    def _post_live(self, message: object) -> None:
        if isinstance(message, Message):
            self.main_screen.post_message(message)

    def _post_live_state(self, connected: bool) -> None:
        from asynccoder_tui.tui.messages import ConnectionChanged

        self.main_screen.post_message(ConnectionChanged(connected))

    async def action_quit(self) -> None:
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.shutdown_services()

    async def shutdown_services(self) -> None:
        workers, self.local_workers = self.local_workers, None
        if workers is not None:
            try:
                await workers.stop()
            except Exception:
                log.exception("stopping the local workers failed")
        context, self.context = self.context, None
        if context is not None:
            try:
                await context.close()
            except Exception:
                log.exception("closing the database failed")

    # -- errors and notifications -----------------------------------------------------------

    def report_error(self, err: BaseException, doing: str) -> None:
        """The one place background failures are shown.

        A refusal or a failure the user can act on (an `AsyncCoderError`, the database being
        away) is a toast saying what to do; anything else is a bug: it is logged with its
        traceback and shown once in a dialog that says where the details are.
        """
        if self.return_code is not None:  # quitting: widgets are going away under the workers
            log.debug("ignored while quitting (%s): %r", doing, err)
            return
        title = f"Could not {doing}"
        if isinstance(err, AsyncCoderError):
            message = safe(err.message) + (f"\n→ {safe(err.hint)}" if err.hint else "")
        elif _is_database_failure(err):
            message = "The database is unavailable; the app reconnects on its own."
        else:
            log.error("unexpected error while trying to %s", doing, exc_info=err)
            kind = f"{type(err).__name__} while trying to {doing}"
            if kind not in self._bugs_shown:
                self._bugs_shown.add(kind)
                from asynccoder_tui.tui.screens.dialogs import ErrorDialog

                self.push_screen(
                    ErrorDialog(
                        "Something went wrong",
                        f"Unexpected {type(err).__name__} while trying to {doing}: "
                        f"{safe(err, 300)}",
                        f"The details are in {self.settings.paths.log_file}; the app goes on.",
                    )
                )
            return
        now = asyncio.get_running_loop().time()
        if self._last_error[0] == message and now - self._last_error[1] < 2:
            return
        self._last_error = (message, now)
        self.notify(message, title=title, severity="error", timeout=8, markup=False)

    @contextmanager
    def reporting(self, doing: str) -> Iterator[None]:
        """Run a block, showing (not raising) what goes wrong."""
        try:
            yield
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.report_error(err, doing)

    def task_finished(self, task: Task) -> None:
        """A toast for a task that finished, and the bell when the app is not in front."""
        title = safe(task.title, 60)
        if task.status.value == "completed":
            stats = f" (+{task.lines_added} -{task.lines_removed})" if task.files_changed else ""
            self.notify(f"{title}{stats}", title="Task completed", markup=False)
        elif task.status.value == "failed":
            self.notify(
                f"{title}\n{safe(task.error or 'failed', 200)}",
                title="Task failed",
                severity="error",
                timeout=10,
                markup=False,
            )
        else:
            self.notify(title, title=f"Task {task.status.value}", severity="warning", markup=False)
        if self.settings.bell_on_finish and not self.app_focus:
            self.bell()

    def bell(self) -> None:
        self.bell_count += 1
        super().bell()

    # -- screens ----------------------------------------------------------------------------

    def action_help(self) -> None:
        from asynccoder_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_usage(self) -> None:
        from asynccoder_tui.tui.screens.usage import UsageScreen

        if not isinstance(self.screen, UsageScreen):
            self.push_screen(UsageScreen())

    def action_settings(self) -> None:
        from asynccoder_tui.tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title not in ("Keys", "Quit"):
                yield command
