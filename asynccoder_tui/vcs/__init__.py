"""Everything that touches git, a task's files, the command sandbox and GitHub.

Layer rule: this package imports only `asynccoder_tui.domain`, `asynccoder_tui.config` and
third-party libraries (never db, agent, engine, services, tui). Every call is async and never
blocks the event loop (git runs as subprocesses, file work in threads).

The engine's surface
--------------------
Workspaces (`vcs.workspace.WorkspaceManager`, one per process)::

    manager = WorkspaceManager.from_settings(settings)            # or WorkspaceManager(paths, ...)
    ws = await manager.prepare(repository, task_id=task.id, slug=task.title,
                               base_branch=task.base_branch, token=None, fresh=False)
        # repository: db `Repository` or `RepoSpec` (kind github|local, clone_url/local_path,
        # full_name, default_branch, settings: copy_files, copy_from, setup_command,
        # setup_timeout, network, remote). Returns `Workspace(path, branch, base_branch,
        # base_ref, base_sha, git_dir, common_dir, repo, setup, reused)`; a second call for
        # the same task (a follow-up) returns the same workspace with reused=True.
    ws = await manager.open(task_id)                              # after a restart, or None
    runner = await manager.command_runner(ws)                     # CommandRunner (sandboxed)

    files = await manager.diff_files(ws)                          # fast: no line counts
    files = await manager.diff_files(ws, stats=True)              # with +/- and binary flags
    stats = await manager.diff_stats(ws)                          # DiffStats: files, added, removed
    diff  = await manager.file_hunks(ws, files[0])                # FileDiff: header, hunks
    text  = await manager.full_diff_text(ws)                      # unified diff
    await manager.revert_hunk(ws, path, hunk_index, expected_id=hunk.id)
    await manager.revert_file(ws, path)

    info   = await manager.commit(ws, message, model_name)        # CommitInfo | None if clean
    pushed = await manager.push(ws, token, force=False)           # PushResult(sha, url, ...)
    state  = await manager.work_state(ws)                         # dirty files, unpushed commits
    report = await manager.remove(ws, force=False, keep_branch=False)
    orphans = await manager.find_orphans(active_task_ids)         # at start: list[Orphan]
    await manager.reclaim(orphan, force=False)                    # False: kept (unsaved work)

Errors: `InputError` (hostile branch, URL, path), `WorkspaceError` (missing base branch, setup
failed, unsaved work on remove), `GitError` (a git command failed; message names it),
`ConflictError` (a hunk changed since it was shown).

Sandbox (`vcs.sandbox`): `await make_runner(mode, workspace=..., network=...)` gives a
`CommandRunner` (bubblewrap, or a plain runner where it cannot run); `await sandbox_status(mode)`
gives `SandboxStatus(name, available, reason)` for doctor and the UI.

GitHub (`vcs.github`, `vcs.github_auth`)::

    token = await find_github_token(settings.github_token, use_gh_cli=settings.use_gh_cli_token,
                                    api_url=settings.github_api_url)  # GitHubToken | None
    async with GitHubClient(token.value, api_url=settings.github_api_url) as gh:
        await gh.get_user(); await gh.list_repos(); await gh.list_branches("owner/name")
        pr = await gh.create_pull_request("owner/name", title=..., body=..., head=ws.branch,
                                          base=ws.base_branch, draft=False)  # links existing
        pr = await gh.get_pull_request("owner/name", pr.number)  # state open|closed|merged|draft

Secrets at rest (`vcs.secrets`): `box = await open_secret_box(paths.key_file)`, then
`box.encrypt(token)` / `box.decrypt(stored)` (`SecretStoreError` when the key changed).

Modules: git.py (runner), refs.py (validation), locks.py, spec.py, records.py, remote.py
(cache clone, fetch, token header), sources.py, worktrees.py, workspace.py, review.py +
diff.py (diff model, reverts), nested.py (repositories an agent made inside its workspace),
publish.py (commit, push, unsaved work), orphans.py, setup.py, storage.py (why a folder
cannot be written: full, read-only, forbidden), process.py + sandbox.py + pids.py (the
process limit for root), github.py + github_models.py + github_auth.py, secrets.py.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "WorkspaceManager": "asynccoder_tui.vcs.workspace",
    "RemovalReport": "asynccoder_tui.vcs.workspace",
    "RepoSpec": "asynccoder_tui.vcs.spec",
    "RepoSettings": "asynccoder_tui.vcs.spec",
    "Workspace": "asynccoder_tui.vcs.spec",
    "SetupOutcome": "asynccoder_tui.vcs.spec",
    "FileChange": "asynccoder_tui.vcs.diff",
    "FileDiff": "asynccoder_tui.vcs.diff",
    "Hunk": "asynccoder_tui.vcs.diff",
    "DiffStats": "asynccoder_tui.vcs.diff",
    "ChangeKind": "asynccoder_tui.vcs.diff",
    "CommitInfo": "asynccoder_tui.vcs.publish",
    "PushResult": "asynccoder_tui.vcs.publish",
    "WorkState": "asynccoder_tui.vcs.publish",
    "Orphan": "asynccoder_tui.vcs.orphans",
    "make_runner": "asynccoder_tui.vcs.sandbox",
    "sandbox_status": "asynccoder_tui.vcs.sandbox",
    "SandboxStatus": "asynccoder_tui.vcs.sandbox",
    "GitHubClient": "asynccoder_tui.vcs.github",
    "find_github_token": "asynccoder_tui.vcs.github_auth",
    "GitHubToken": "asynccoder_tui.vcs.github_auth",
    "PullRequestInfo": "asynccoder_tui.vcs.github_models",
    "GitHubRepo": "asynccoder_tui.vcs.github_models",
    "GitHubBranch": "asynccoder_tui.vcs.github_models",
    "GitHubUser": "asynccoder_tui.vcs.github_models",
    "SecretBox": "asynccoder_tui.vcs.secrets",
    "open_secret_box": "asynccoder_tui.vcs.secrets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import on first use, so importing the package costs nothing (httpx loads lazily)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
