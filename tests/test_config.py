"""Settings precedence: CLI flags over environment over the TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from asynccoder_tui.config import load_settings, redact_url
from asynccoder_tui.domain.errors import ConfigError


def test_precedence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "config.toml").write_text(
        'worker_concurrency = 5\ntheme = "nord"\ndefault_model = "gpt-5"\n'
    )
    assert load_settings().worker_concurrency == 5
    monkeypatch.setenv("ASYNCCODER_WORKER_CONCURRENCY", "7")
    settings = load_settings()
    assert (settings.worker_concurrency, settings.theme) == (7, "nord")
    assert load_settings(worker_concurrency=9).worker_concurrency == 9


def test_standard_variables_and_secrets(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@db/x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret")
    settings = load_settings()
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-secret"
    assert "sk-ant-secret" not in repr(settings) and "pw" not in repr(settings.database_url)
    assert not settings.uses_embedded_db


def test_wrong_type_names_the_setting(home: Path) -> None:
    (home / "config.toml").write_text("lease_seconds = -3\n")
    with pytest.raises(ConfigError, match="lease_seconds"):
        load_settings()


def test_home_puts_every_directory_under_it(home: Path) -> None:
    paths = load_settings().paths
    for p in (paths.config_dir, paths.data_dir, paths.cache_dir, paths.state_dir, paths.log_dir):
        assert p.is_relative_to(home / "home")


def test_redact_url() -> None:
    assert redact_url("postgresql://a:b@h:1/d") == "postgresql://a:***@h:1/d"
    assert redact_url("postgresql://h/d") == "postgresql://h/d"
