"""The workspace records kept beside the worktrees: `<workspaces>/.meta/<task-id>.json`.

A record is written before `git worktree add` (state "creating"), updated once setup runs
("setup") and when the workspace is ready ("ready"), and deleted when the workspace is
removed. That is how a restart finds a workspace again (`WorkspaceManager.open`) and how a
crash mid-way is recognised (a record that never reached "ready").

Records hold no secret. Writes are atomic (temporary file and rename). This module only reads
and writes these files.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from asynccoder_tui.vcs.spec import RepoSpec, Workspace

RecordState = Literal["creating", "setup", "ready"]


class WorkspaceRecord(BaseModel):
    task_id: str
    state: RecordState
    repo: RepoSpec
    path: Path
    branch: str
    common_dir: Path | None = None
    base_sha: str | None = None
    workspace: Workspace | None = None
    pushed_sha: str | None = None
    host: str = Field(default_factory=socket.gethostname)
    pid: int = Field(default_factory=os.getpid)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class RecordStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, task_id: str) -> Path:
        return self.directory / f"{task_id}.json"

    def load(self, task_id: str) -> WorkspaceRecord | None:
        path = self.path_for(task_id)
        try:
            return WorkspaceRecord.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError):
            return None

    def save(self, record: WorkspaceRecord) -> WorkspaceRecord:
        record = record.model_copy(
            update={
                "updated_at": datetime.now(UTC),
                "pid": os.getpid(),
                "host": socket.gethostname(),
            }
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".rec-", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(record.model_dump_json(indent=1).encode())
            os.replace(tmp, self.path_for(record.task_id))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return record

    def delete(self, task_id: str) -> None:
        self.path_for(task_id).unlink(missing_ok=True)

    def all(self) -> list[WorkspaceRecord]:
        records: list[WorkspaceRecord] = []
        if not self.directory.is_dir():
            return records
        for entry in sorted(self.directory.glob("*.json")):
            record = self.load(entry.stem)
            if record is not None:
                records.append(record)
        return records
