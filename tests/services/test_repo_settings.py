"""A repository's settings: validation in words, saving, the audit row, that the runner's
`RepoSpec` reads what is saved, and that an unchanged value writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from asynccoder_tui.config import load_settings
from asynccoder_tui.db import ai_models, repositories
from asynccoder_tui.domain.errors import InputError, NotFoundError
from asynccoder_tui.domain.models import Repository
from asynccoder_tui.services import repos
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.vcs.spec import RepoSpec


@pytest_asyncio.fixture
async def ctx(db_url: str, home: Path) -> AsyncIterator[AppContext]:
    context = await AppContext.open(load_settings(database_url=db_url))
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture
async def repo(ctx: AppContext, make_repo: Callable[..., Path]) -> Repository:
    return await repos.add_repo(ctx, str(make_repo()))


async def _audits(ctx: AppContext) -> list[dict]:
    rows = await ctx.db.pool.fetch(
        """SELECT resource_id, details FROM audit_logs
           WHERE action = 'repository.settings_changed' ORDER BY id"""
    )
    return [{"id": r["resource_id"], **r["details"]} for r in rows]


async def _updated_at(ctx: AppContext, repo: Repository) -> object:
    return await ctx.db.pool.fetchval("SELECT updated_at FROM repositories WHERE id = $1", repo.id)


@pytest.mark.parametrize(
    ("text", "words"),
    [("x" * 4001, "at most 4,000"), ("make\ntest", "control character"),
     ("make\x00", "control character"), ("echo \x1b[31m", "control character")],
)  # fmt: skip
def test_bad_commands_are_refused_in_words(text: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        repos.check_command(text, "test command")


def test_commands_and_copy_files_that_are_accepted() -> None:
    assert repos.check_command("  pytest\t-q  ", "test command") == "pytest\t-q"
    assert repos.check_command("x" * 4000, "test command") == "x" * 4000
    assert repos.check_command("   ", "test command") is None
    assert repos.check_copy_files(" .env, config/local.toml,, .env ") == [
        ".env", "config/local.toml",
    ]  # fmt: skip
    assert repos.check_copy_files([f"f{i}" for i in range(100)])[-1] == "f99"
    for bad, words in (
        (["/etc/passwd"], "absolute"), (["~/.ssh/id_rsa"], "absolute"),
        (["a/../../b"], "leaves the repository"), ([".."], "leaves the repository"),
        ([f"f{i}" for i in range(101)], "at most 100"), (["a\nb"], "not a usable path"),
    ):  # fmt: skip
        with pytest.raises(InputError, match=words):
            repos.check_copy_files(bad)
    with pytest.raises(InputError, match="off, on, required"):
        repos.check_review("sometimes")


async def test_settings_are_saved_audited_and_read_by_the_runner(
    ctx: AppContext, repo: Repository
) -> None:
    before = await repos.repo_settings(ctx, repo.id)
    assert before.test_command is None and before.review == "off" and before.copy_files == []
    assert before.network is None and before.network_effective is False

    saved = await repos.update_repo_settings(
        ctx, str(repo.local_path), test_command="pytest -q", setup_command="pip install -e .",
        review="required", review_model="claude-haiku-4-5", network=True,
        copy_files=[".env", "config/local.toml"],
    )  # fmt: skip
    assert saved.test_command == "pytest -q" and saved.review == "required"
    assert saved.network_effective is True
    assert await repos.repo_settings(ctx, repo.name) == saved

    row = await repositories.get_repository(ctx.db.pool, repo.id)
    assert row.settings["test_command"] == "pytest -q"  # where the runner reads it
    spec = RepoSpec.coerce(row).repo_settings
    assert spec.setup_command == "pip install -e ." and spec.network is True
    assert spec.copy_files == [".env", "config/local.toml"]

    [entry] = await _audits(ctx)
    assert entry["id"] == str(repo.id)
    assert entry["keys"] == [
        "copy_files", "network", "review", "review_model", "setup_command", "test_command",
    ]  # fmt: skip
    assert entry["changes"]["test_command"] == {"from": None, "to": "pytest -q"}
    assert entry["changes"]["review"] == {"from": "off", "to": "required"}
    assert entry["changes"]["copy_files"]["to"] == [".env", "config/local.toml"]

    # Clearing: empty strings and lists; None hands network back to the global setting.
    cleared = await repos.update_repo_settings(
        ctx, repo.id, test_command="", review_model="", network=None, copy_files=[]
    )
    assert cleared.test_command is None and cleared.review_model is None
    assert cleared.network is None and cleared.copy_files == []
    assert cleared.setup_command == "pip install -e ."
    assert len(await _audits(ctx)) == 2


async def test_nothing_is_written_when_nothing_changes(ctx: AppContext, repo: Repository) -> None:
    await repos.update_repo_settings(ctx, repo.id, test_command="make test", review="on")
    stamp = await _updated_at(ctx, repo)
    again = await repos.update_repo_settings(
        ctx, repo.id, test_command="  make test ", review="ON", copy_files=[]
    )
    assert again.test_command == "make test"
    assert await _updated_at(ctx, repo) == stamp
    assert len(await _audits(ctx)) == 1
    # Giving nothing at all writes nothing either.
    await repos.update_repo_settings(ctx, repo.id)
    assert len(await _audits(ctx)) == 1


async def test_refusals_change_nothing(ctx: AppContext, repo: Repository) -> None:
    await ai_models.update_model(ctx.db.pool, "gpt-5", {"active": False})
    cases = (
        ({"review_model": "gpt-5"}, "disabled"),
        ({"review_model": "no-such-model"}, "not a known model"),
        ({"review": "always"}, "review must be one of"),
        ({"copy_files": ["/abs"], "test_command": "ok"}, "absolute"),
        ({"network": "yes"}, "on or off"),
        ({"setup_command": "a\rb"}, "control character"),
    )
    for changes, words in cases:
        with pytest.raises(InputError, match=words):
            await repos.update_repo_settings(ctx, repo.id, **changes)
    assert await _audits(ctx) == []
    assert (await repositories.get_repository(ctx.db.pool, repo.id)).settings == {}
    with pytest.raises(NotFoundError):
        await repos.update_repo_settings(ctx, "nowhere", review="on")


async def test_audit_masks_what_looks_like_a_secret(ctx: AppContext, repo: Repository) -> None:
    command = "API_KEY=sk-abcdefghijklmnopqrstuvwxyz make test"
    saved = await repos.update_repo_settings(ctx, repo.id, test_command=command)
    assert saved.test_command == command  # saved as given: the runner needs it whole
    [entry] = await _audits(ctx)
    assert "sk-abcdefghijklmnopqrstuvwxyz" not in str(entry)
    assert "make test" in entry["changes"]["test_command"]["to"]


async def test_legacy_keys_are_read_and_replaced(ctx: AppContext, repo: Repository) -> None:
    await repositories.update_settings(
        ctx.db.pool, repo.id,
        {"setup_script": "./bootstrap", "files_to_copy": [".env"], "sandbox_network": True},
    )  # fmt: skip
    found = await repos.repo_settings(ctx, repo.id)
    assert (found.setup_command, found.copy_files, found.network) == ("./bootstrap", [".env"], True)
    await repos.update_repo_settings(ctx, repo.id, setup_command="", copy_files=[], network=None)
    row = await repositories.get_repository(ctx.db.pool, repo.id)
    spec = RepoSpec.coerce(row).repo_settings
    assert (spec.setup_command, spec.copy_files, spec.network) == (None, [], None)


async def test_a_review_model_disabled_since_does_not_block_other_changes(
    ctx: AppContext, repo: Repository
) -> None:
    await repos.update_repo_settings(ctx, repo.id, review="on", review_model="gpt-5")
    await ai_models.update_model(ctx.db.pool, "gpt-5", {"active": False})
    # The dialog hands every field back: the unchanged model is kept, the command is saved.
    saved = await repos.update_repo_settings(
        ctx, repo.id, test_command="make test", review_model="gpt-5"
    )
    assert (saved.test_command, saved.review_model) == ("make test", "gpt-5")
    switched = await repos.update_repo_settings(ctx, repo.id, review_model="claude-haiku-4-5")
    assert switched.review_model == "claude-haiku-4-5"
    with pytest.raises(InputError, match="disabled"):  # choosing it again is refused
        await repos.update_repo_settings(ctx, repo.id, review_model="gpt-5")


async def test_a_hand_edited_row_the_runner_refuses_can_be_repaired(
    ctx: AppContext, repo: Repository
) -> None:
    await repositories.update_settings(ctx.db.pool, repo.id, {"copy_files": ["/etc/passwd"]})
    assert (await repos.repo_settings(ctx, repo.id)).copy_files == []
    with pytest.raises(InputError, match="runner could not read"):
        await repos.update_repo_settings(ctx, repo.id, test_command="make test")
    fixed = await repos.update_repo_settings(ctx, repo.id, copy_files=[".env"])
    assert fixed.copy_files == [".env"]
    row = await repositories.get_repository(ctx.db.pool, repo.id)
    assert RepoSpec.coerce(row).repo_settings.copy_files == [".env"]
