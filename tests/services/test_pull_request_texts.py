"""The words around a pull request: where it goes for a local repository (its `github`
setting, set with `repo set --github`), its default body, and a second cancel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import pytest
import pytest_asyncio

from asynccoder_tui.config import load_settings
from asynccoder_tui.domain.errors import ConflictError, InputError
from asynccoder_tui.domain.models import Task
from asynccoder_tui.services import repos, tasks
from asynccoder_tui.services.context import AppContext
from asynccoder_tui.services.review import default_body


@pytest_asyncio.fixture
async def ctx(db_url: str, home: Path) -> AsyncIterator[AppContext]:
    context = await AppContext.open(load_settings(database_url=db_url))
    try:
        yield context
    finally:
        await context.close()


async def test_the_github_repository_of_a_local_one_is_set_checked_and_cleared(
    ctx: AppContext, make_repo: Callable[..., Path]
) -> None:
    repo = await repos.add_repo(ctx, str(make_repo()))
    assert (await repos.repo_settings(ctx, repo.id)).github is None
    saved = await repos.update_repo_settings(ctx, repo.id, github=" acme/widgets ")
    assert saved.github == "acme/widgets" and saved.as_dict()["github"] == "acme/widgets"
    for bad in ("acme", "acme/widgets/extra", "../x", "acme/wid gets"):
        with pytest.raises(InputError, match="GitHub repository name"):
            await repos.update_repo_settings(ctx, repo.id, github=bad)
    assert (await repos.repo_settings(ctx, repo.id)).github == "acme/widgets"
    assert (await repos.update_repo_settings(ctx, repo.id, github="")).github is None


def _task(**kw: object) -> Task:
    values: dict[str, object] = {
        "id": uuid4(), "owner_id": uuid4(), "repository_id": uuid4(), "model": "scripted:demo",
        "title": "t", "prompt": "p", "status": "completed", "summary": "Fixed it.",
        "files_changed": 1, "lines_added": 3, "lines_removed": 1,
    }  # fmt: skip
    values.update(kw)
    return Task.model_validate(values)


def test_the_default_body_counts_files_in_words_and_lists_a_plan() -> None:
    assert "1 file changed, +3 -1" in default_body(_task())
    assert "2 files changed" in default_body(_task(files_changed=2))
    plan = {"subtasks": [{"title": "Add the parser", "role": "backend"}, {"title": "Wire it"}]}
    body = default_body(_task(summary=json.dumps(plan)))
    assert "Done in subtasks:\n1. Add the parser (backend)\n2. Wire it" in body
    assert "{" not in body.split("---")[0]
    assert default_body(_task(summary="{not json")).startswith("{not json")


async def test_a_second_cancel_says_the_task_has_been_cancelled(
    ctx: AppContext, make_repo: Callable[..., Path]
) -> None:
    root = make_repo()
    await repos.add_repo(ctx, str(root))
    task = await tasks.submit(
        ctx, tasks.SubmitRequest(repository=str(root), prompt="Fix it", model="scripted:demo")
    )
    await tasks.cancel(ctx, task.id)
    with pytest.raises(ConflictError, match="has already been cancelled"):
        await tasks.cancel(ctx, task.id)
