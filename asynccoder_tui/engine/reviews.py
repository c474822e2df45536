"""Automatic review: after a coding task commits, a read-only reviewer task reviews the diff;
when the reviewer finishes, its verdict becomes a `reviews` row of the task it reviewed.

Per repository (`settings.review`): "off" (the default), "on", or "required" (a pull request
waits for an approved review of the task's current commit). `settings.review_model` picks the
reviewer's model, else the reviewer agent's default model, else the coder's model.

The reviewer finishes with a summary holding one fenced JSON block (the format is in its
prompt); a summary without one is kept as a "commented" review without scores. This module
decides and writes inside the caller's transaction; it runs no agent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from asynccoder_tui.db import ai_models, events, reviews
from asynccoder_tui.db import tasks as tasks_db
from asynccoder_tui.db.pool import Executor
from asynccoder_tui.db.tx import transaction
from asynccoder_tui.domain.enums import AgentKind, EventKind, ProviderKind, TaskMode
from asynccoder_tui.domain.errors import InsufficientCreditsError
from asynccoder_tui.domain.models import Repository, Task
from asynccoder_tui.engine.credits import hold_for_run
from asynccoder_tui.engine.roles import default_model_for

REVIEW_SETTING = "review"
REVIEW_MODEL_SETTING = "review_model"
REVIEW_MODES = ("off", "on", "required")
PATCH_MAX_CHARS = 60_000
STATUSES = ("approved", "changes_requested", "commented")

REVIEW_PROMPT = """\
Review the changes of task "{title}": commit {sha} on branch {branch} (base {base}).

Read the diff below and the code around it (view, search). Judge correctness, security, tests \
and readability. Score each from 0 to 1 with this rubric:
- 1.0: nothing to fix; 0.8: nits only; 0.6: minor issues; 0.4: real defects that must be \
fixed; 0.2: broken or largely wrong; 0.0: unsafe (data loss, injection, secrets leaked).
Status: "approved" when nothing must change, "changes_requested" when something must, \
"commented" otherwise.

Finish with a summary that contains exactly one fenced JSON block of this shape:
```json
{{"status": "approved|changes_requested|commented", "summary": "one paragraph",
 "quality_score": 0.0, "security_score": 0.0,
 "issues": [{{"file": "path", "line": 1, "severity": "high|medium|low", "message": "..."}}],
 "suggestions": [{{"file": "path", "line": 1, "message": "..."}}]}}
```

The diff:
```diff
{patch}
```"""


def review_mode(repo: Repository) -> str:
    value = str(repo.settings.get(REVIEW_SETTING) or "off").lower()
    return value if value in REVIEW_MODES else "off"


@dataclass(frozen=True)
class ParsedReview:
    status: str
    summary: str
    quality_score: float | None = None
    security_score: float | None = None
    issues: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)


_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)


def _score(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return min(1.0, max(0.0, round(number, 3))) if number == number else None


def _findings(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            item = {"message": item}
        if not isinstance(item, dict) or not str(item.get("message") or "").strip():
            continue
        line = item.get("line")
        found.append({
            "message": str(item["message"])[:2000],
            "file": str(item["file"])[:500] if item.get("file") else None,
            "line": line if isinstance(line, int) and line > 0 else None,
            "severity": str(item["severity"])[:20] if item.get("severity") else None,
        })  # fmt: skip
    return found[:100]


def parse_review(summary: str | None) -> ParsedReview:
    """The verdict in the reviewer's summary: its last fenced JSON block that parses; without
    one, the summary as a "commented" review without scores."""
    text = summary or ""
    for block in reversed(_FENCE.findall(text)):
        try:
            data = json.loads(block)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        status = str(data.get("status") or "commented").lower().replace(" ", "_")
        return ParsedReview(
            status=status if status in STATUSES else "commented",
            summary=str(data.get("summary") or _FENCE.sub("", text).strip())[:10_000],
            quality_score=_score(data.get("quality_score")),
            security_score=_score(data.get("security_score")),
            issues=_findings(data.get("issues")),
            suggestions=_findings(data.get("suggestions")),
        )
    return ParsedReview(status="commented", summary=text.strip()[:10_000])


async def reviewer_model(db: Executor, repo: Repository, task: Task) -> str:
    chosen = repo.settings.get(REVIEW_MODEL_SETTING)
    if isinstance(chosen, str) and chosen.strip():
        return chosen.strip()
    return await default_model_for(db, TaskMode.REVIEW) or task.model


async def _provider_of(db: Executor, name: str, task: Task) -> ProviderKind:
    model = await ai_models.find_model(db, name)
    if model is not None:
        return model.provider
    return ProviderKind.SCRIPTED if name.startswith("scripted:") else task.provider


async def queue_review(
    conn: Executor, task: Task, repo: Repository, diff: dict[str, Any]
) -> UUID | None:
    """Queue a reviewer child of `task` for the commit in `diff`, holding its credits; None
    (and a note in the task's transcript) when the owner cannot afford it."""
    patch = str(diff.get("patch") or "")
    if len(patch) > PATCH_MAX_CHARS:
        patch = patch[:PATCH_MAX_CHARS] + "\n[... the diff is cut here; view the files ...]"
    prompt = REVIEW_PROMPT.format(
        title=task.title, sha=diff["sha"], branch=diff["branch"], base=diff.get("base"),
        patch=patch or "(no diff text: compare the branch with its base)",
    )  # fmt: skip
    credits = max(1, task.estimated_credits)
    model = await reviewer_model(conn, repo, task)
    provider = await _provider_of(conn, model, task)
    try:
        async with transaction(conn) as savepoint:
            child = await tasks_db.insert_task(
                savepoint,
                tasks_db.NewTask(
                    owner_id=task.owner_id, repository_id=task.repository_id,
                    model=model, provider=provider,
                    title=f"Review: {task.title}"[:500], prompt=prompt, mode=TaskMode.REVIEW,
                    base_branch=diff["branch"], max_attempts=2, estimated_credits=credits,
                    parent_id=task.id, agent_kind=AgentKind.REVIEWER.value,
                ),
            )  # fmt: skip
            await hold_for_run(savepoint, task.owner_id, child.id, 1, credits)
    except InsufficientCreditsError as err:
        await events.append_events(
            conn, task.id, [(EventKind.ERROR, {"message": f"review not started: {err}"})]
        )
        return None
    await events.append_events(
        conn, child.id,
        [(EventKind.MESSAGE, {"role": "user", "text": prompt}),
         (EventKind.STATUS, {"status": "queued", "detail": f"review of {diff['sha'][:10]}"})],
    )  # fmt: skip
    await events.append_events(
        conn, task.id,
        [(EventKind.STATUS, {"status": "review_queued", "detail": f"reviewer task {child.id}",
                             "review_task": str(child.id)})],
    )  # fmt: skip
    return child.id


async def record_review(conn: Executor, reviewer_task: Task, summary: str | None) -> None:
    """Write the reviewer's verdict as a review of its parent task (at the parent's commit)."""
    assert reviewer_task.parent_id is not None
    parent = await tasks_db.get_task(conn, reviewer_task.parent_id)
    verdict = parse_review(summary)
    review = await reviews.add_review(
        conn, parent.id, commit_sha=parent.commit_sha, reviewer=reviewer_task.model,
        status=verdict.status, summary=verdict.summary, quality_score=verdict.quality_score,
        security_score=verdict.security_score, issues=verdict.issues,
        suggestions=verdict.suggestions,
    )  # fmt: skip
    scores = ", ".join(
        f"{name} {value:.2f}"
        for name, value in (
            ("quality", verdict.quality_score),
            ("security", verdict.security_score),
        )
        if value is not None
    )
    await events.append_events(
        conn, parent.id,
        [(EventKind.REVIEW_COMMENT, {"review": str(review.id), "status": verdict.status,
                                     "text": f"{verdict.status.replace('_', ' ')}"
                                             + (f" ({scores})" if scores else "")
                                             + f": {verdict.summary}",
                                     "issues": len(verdict.issues)})],
    )  # fmt: skip
