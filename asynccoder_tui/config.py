"""Settings: environment, the TOML config file, then CLI flags on top.

Precedence, highest first: values passed by the CLI (`load_settings(**overrides)`), environment
variables (`ASYNCCODER_*`, plus the standard `DATABASE_URL`, `ANTHROPIC_API_KEY`,
`OPENAI_API_KEY`, `GITHUB_TOKEN`), the TOML file (`$ASYNCCODER_CONFIG`, else
`<config dir>/config.toml`), then defaults. Secrets are `SecretStr` and never printed.

Directories come from platformdirs; `ASYNCCODER_HOME` puts all of them under one folder (tests
and demos use it so nothing touches the user's own directories).

This module imports only the domain layer.
"""

from __future__ import annotations

import os
import stat
import tomllib
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from asynccoder_tui.domain.errors import ConfigError

APP_NAME = "asynccoder"


class Paths(BaseModel):
    """Where Async Coder keeps its files."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path
    log_dir: Path

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def workspaces(self) -> Path:
        return self.data_dir / "workspaces"

    @property
    def mirrors(self) -> Path:
        return self.cache_dir / "mirrors"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "asynccoder.log"

    def ensure(self) -> None:
        for path in (self.config_dir, self.data_dir, self.cache_dir, self.state_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)


def default_paths() -> Paths:
    home = os.environ.get("ASYNCCODER_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(
            config_dir=root / "config",
            data_dir=root / "data",
            cache_dir=root / "cache",
            state_dir=root / "state",
            log_dir=root / "state" / "log",
        )
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    return Paths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        cache_dir=Path(dirs.user_cache_dir),
        state_dir=Path(dirs.user_state_dir),
        log_dir=Path(dirs.user_log_dir),
    )


def config_file_path() -> Path:
    explicit = os.environ.get("ASYNCCODER_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return default_paths().config_dir / "config.toml"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (user names and hosts stay readable)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML config file; a broken file is a `ConfigError` naming the file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    @cached_property
    def data(self) -> dict[str, Any]:
        hint = "fix the file or point ASYNCCODER_CONFIG at another one"
        try:
            mode = self.path.stat().st_mode
        except OSError:
            return {}  # no config file: defaults
        if not stat.S_ISREG(mode):
            if self.path == Path(os.devnull):
                return {}
            raise ConfigError(f"config file {self.path} is not a regular file", hint=hint)
        try:
            raw = self.path.read_bytes()
            data = tomllib.loads(raw.decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            raise ConfigError(f"cannot read config file {self.path}: {reason}", hint=hint) from err
        except RecursionError:
            raise ConfigError(
                f"cannot read config file {self.path}: it nests too deeply", hint=hint
            ) from None
        return data

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


class Settings(BaseSettings):
    """Every setting of Async Coder. Field names are the TOML keys."""

    model_config = SettingsConfigDict(
        env_prefix="ASYNCCODER_",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("database_url", "DATABASE_URL")
    )
    keep_db_running: bool = Field(
        default=False,
        description="leave the embedded PostgreSQL running after the last asynccoder exits",
    )
    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("anthropic_api_key", "ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("openai_api_key", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = None
    github_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("github_token", "GITHUB_TOKEN")
    )
    github_api_url: str = "https://api.github.com"
    use_gh_cli_token: bool = True

    default_model: str = "claude-sonnet-4-5"
    default_mode: str = "code"
    worker_concurrency: int = Field(default=2, ge=0, le=64)
    theme: str = "asynccoder"
    bell_on_finish: bool = True

    # Upper bounds keep every value inside what the database and the clock can hold (an
    # interval, a bigint), so a typo cannot stop the queue.
    credits_per_usd: int = Field(default=1000, ge=1, le=1_000_000_000)
    starting_credits: int = Field(default=10_000, ge=0, le=10**15)
    # Running tasks at once per user and per provider, across all workers; 0: no limit (claims
    # then run side by side instead of one at a time under a lock).
    max_concurrent_tasks_per_user: int = Field(default=4, ge=0, le=100_000)
    max_submissions_per_minute: int = Field(default=30, ge=1, le=1_000_000)
    max_concurrent_per_provider: int = Field(default=4, ge=0, le=100_000)
    lease_seconds: int = Field(default=30, ge=5, le=86_400)

    task_max_steps: int = Field(default=50, ge=1, le=100_000)
    task_max_seconds: int = Field(default=1800, ge=10, le=7 * 86_400)
    task_max_cost: Decimal = Field(default=Decimal("2.00"), ge=0, le=Decimal(1_000_000))

    sandbox: str = Field(default="auto", pattern="^(auto|bwrap|none)$")
    sandbox_network: bool = False
    command_timeout: int = Field(default=120, ge=1, le=86_400)

    commit_author_name: str = "Async Coder"
    commit_author_email: str = "asynccoder@localhost"
    assisted_by_trailer: bool = True

    log_level: str = "INFO"
    keybindings: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls, config_file_path()))

    @property
    def paths(self) -> Paths:
        return default_paths()

    @property
    def config_file(self) -> Path:
        return config_file_path()

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None

    def secret_names_present(self) -> dict[str, bool]:
        """Which secrets are configured, by name only."""
        return {
            "ANTHROPIC_API_KEY": self.anthropic_api_key is not None,
            "OPENAI_API_KEY": self.openai_api_key is not None,
            "GITHUB_TOKEN": self.github_token is not None,
        }


def load_settings(**overrides: Any) -> Settings:
    """Build settings from every source; CLI flags come in as `overrides` (None means unset)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except SettingsError as err:  # a value the environment source cannot even parse
        raise ConfigError(
            f"invalid settings: {err}",
            hint="check the ASYNCCODER_* environment variables (tables are given as JSON)",
        ) from None
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint=f"check the environment and {config_file_path()}",
        ) from None
