"""How the engine ends a run that meets an error from the operating system.

The disk rounds found that an `OSError` escaping into a run was taken for "the database is
unreachable": the run was abandoned, the task waited for its lease to expire and ended as "the
worker stopped responding", never saying why (since fixed in the engine; the `vcs` layer also
turns its own file-system errors into `WorkspaceError`s). This keeps it fixed, with an `OSError`
from the command runner's set-up (a full disk when the sandbox is prepared).
"""

from __future__ import annotations

import errno
from typing import Any

import pytest

from asynccoder_tui.services import repos
from asynccoder_tui.services import tasks as task_service
from asynccoder_tui.vcs.workspace import WorkspaceManager
from tests.reliability.harness import quick_settings, running_pool, top_up, wait_final


async def test_an_os_error_in_a_run_fails_the_task_in_words(
    db_url: str, home: Any, make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from asynccoder_tui.services.context import AppContext

    async def full_disk(self: WorkspaceManager, ws: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(WorkspaceManager, "command_runner", full_disk)
    ctx = await AppContext.open(quick_settings(db_url))
    try:
        await top_up(ctx)
        root = make_repo()
        await repos.add_repo(ctx, str(root))
        task = await task_service.submit(
            ctx, task_service.SubmitRequest(repository=str(root), prompt="x",
                                            model="scripted:echo", max_attempts=1),
        )  # fmt: skip
        async with running_pool(ctx, concurrency=1):
            done = await wait_final(ctx, task.id, timeout=30)
    finally:
        await ctx.close()
    assert done.status.value == "failed"
    assert "No space left on device" in (done.error or ""), done.error
