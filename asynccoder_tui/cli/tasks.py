"""CLI commands for tasks: `task submit|list|show|cancel|follow-up|retry|diff|pr|take-hunk|
plan-resume`. Each opens one `AppContext`, calls `services/`, prints plain text (or JSON with
`--json`) and closes it. Text that came from a model or a repository is printed inert.

The `task` group's other actions (review, plan, attempts, pick) live in their own modules and are
added to the group that `register_task_commands` returns.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from asynccoder_tui.cli.common import _id, _json, opened, positive, read_stdin
from asynccoder_tui.cli.transcript import print_event, wait_for
from asynccoder_tui.domain.enums import Priority, TaskMode, TaskStatus
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    # Imported when a command runs, not when the parser is built: the UI starts through
    # the same parser and must not pay for the database layer before its first frame.
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Task
    from asynccoder_tui.services.context import AppContext


def task_dict(task: Task) -> dict[str, Any]:
    data = task.model_dump(mode="json")
    data["cost"] = str(task.cost)
    return data


def _age(task: Task) -> str:
    from datetime import UTC, datetime

    if task.created_at is None:
        return "?"
    seconds = (datetime.now(UTC) - task.created_at).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def task_line(task: Task) -> str:
    diff = f"+{task.lines_added}/-{task.lines_removed}" if task.files_changed else "-"
    pr = f" PR {task.pr_state.value}" if task.pr_state else ""
    return (
        f"{str(task.id)[:8]}  {task.status.value:<9} {task.mode.value:<6} {inert(task.model)[:20]:<20} "
        f"${task.cost:.4f} {diff:>10} {_age(task):>4}  {inert(task.title)[:60]}{pr}"
    )


async def cmd_task_submit(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import tasks

    prompt = read_stdin() if args.prompt == "-" else args.prompt
    async with opened(settings) as ctx:
        if args.attempts > 1:
            return await _submit_attempts(ctx, args, prompt)
        task = await tasks.submit(
            ctx,
            tasks.SubmitRequest(
                repository=args.repo,
                prompt=prompt,
                mode=TaskMode.PLAN if args.plan else TaskMode(args.mode),
                model=args.model,
                base_branch=args.branch,
                priority=Priority(args.priority),
                title=args.title,
            ),
        )
        if not args.wait:
            if args.json:
                _json(task_dict(task))
            else:
                print(f"submitted {task.id} ({task.held_credits} credits held)")
            return 0
        return await wait_for(ctx, task.id, as_json=args.json, run_worker=not args.no_worker)


async def _submit_attempts(ctx: AppContext, args: argparse.Namespace, prompt: str) -> int:
    from asynccoder_tui.services import attempts, tasks

    made = await attempts.submit_attempts(
        ctx,
        tasks.SubmitRequest(
            repository=args.repo, prompt=prompt, mode=TaskMode(args.mode), model=args.model,
            base_branch=args.branch, priority=Priority(args.priority), title=args.title,
        ),
        args.attempts,
        models=(args.models or "").split(",") if args.models else None,
    )  # fmt: skip
    if args.json:
        _json([task_dict(t) for t in made])
    else:
        for t in made:
            print(f"submitted {t.id} {inert(t.model)} ({t.held_credits} credits held)")
    return 0


TASK_SORTS = ("newest", "oldest", "status", "cost", "updated")
"""`TaskSort`'s values (not imported here: the models behind it would slow every command)."""


async def cmd_task_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.domain.queries import TaskFilter, TaskPageCursor, TaskSort
    from asynccoder_tui.services import repos, tasks

    sort = TaskSort(args.sort)
    async with opened(settings) as ctx:
        repo_id = (await repos.find(ctx, args.repo)).id if args.repo else None
        filters = TaskFilter(
            repository_id=repo_id,
            statuses=tuple(TaskStatus(s) for s in args.status or ()),
            text=args.search,
            sort=sort,
        )
        found: list[Task] = []
        after: TaskPageCursor | None = None
        while len(found) < args.limit:  # pages of at most 1,000, each after the last
            want = min(1000, args.limit - len(found))
            page = await tasks.list_tasks(ctx, filters=filters, after=after, limit=want)
            found += page
            if len(page) < want:
                break
            after = TaskPageCursor.after(page[-1], sort)
    if args.json:
        _json([task_dict(t) for t in found])
    elif not found:
        print("no tasks")
    else:
        for task in found:
            print(task_line(task))
    return 0


async def cmd_task_show(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import tasks

    async with opened(settings) as ctx:
        task = await tasks.get_task(ctx, args.id)
        transcript = await tasks.transcript(ctx, task.id) if args.events or args.json else []
        outcome = await tasks.task_results(ctx, task.id)
    if args.json:
        data = task_dict(task)
        data["results"] = outcome
        data["events"] = [e.model_dump(mode="json") for e in transcript]
        _json(data)
        return 0
    print(f"task      {task.id}")
    print(f"title     {inert(task.title)}")
    print(
        f"status    {task.status.value}"
        + (f" ({inert(task.exit_status)})" if task.exit_status else "")
    )
    print(
        f"mode      {task.mode.value}   model {inert(task.model)}   priority {task.priority.value}"
    )
    print(
        f"branch    {inert(task.work_branch or '-')} (base {inert(task.base_branch or 'default')})"
    )
    print(f"attempts  {task.attempt} of {task.max_attempts}")
    print(
        f"cost      ${task.cost:.4f}   credits used {task.used_credits}, held {task.held_credits}"
    )
    print(f"tokens    {task.input_tokens} in, {task.output_tokens} out")
    print(f"diff      {task.files_changed} files, +{task.lines_added} -{task.lines_removed}")
    if task.pr_url:
        print(f"pr        {inert(task.pr_url)} ({task.pr_state.value if task.pr_state else '?'})")
    if task.error:
        print(f"error     {inert(task.error)}")
    if task.summary:
        print(f"summary   {inert(task.summary)}")
    for event in transcript:
        print_event(event)
    return 0


async def cmd_task_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import tasks

    async with opened(settings) as ctx:
        task = await tasks.cancel(ctx, args.id)
    state = "cancelled" if task.status is TaskStatus.CANCELLED else "cancel requested"
    print(f"{str(task.id)[:8]} {state}")
    return 0


async def cmd_task_follow_up(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import tasks

    message = read_stdin() if args.message == "-" else args.message
    async with opened(settings) as ctx:
        task = await tasks.follow_up(ctx, args.id, message)
        if args.wait:
            return await wait_for(ctx, task.id, as_json=False, run_worker=True)
    print(f"{str(task.id)[:8]} {task.status.value}: follow-up sent")
    return 0


async def cmd_task_retry(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import tasks

    async with opened(settings) as ctx:
        task = await tasks.retry(ctx, args.id)
    print(f"{str(task.id)[:8]} queued again")
    return 0


async def cmd_task_diff(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import review, tasks

    async with opened(settings) as ctx:
        task = await tasks.get_task(ctx, args.id)
        text = await review.full_diff(ctx, task.id)
    sys.stdout.write(inert(text))
    return 0


async def cmd_task_pr(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import review, tasks

    async with opened(settings) as ctx:
        task = await tasks.get_task(ctx, args.id)
        pr = await review.create_pull_request(
            ctx, task.id, title=args.title, body=args.body, draft=args.draft,
            progress=lambda msg: print(inert(msg), file=sys.stderr),
        )  # fmt: skip
    if args.json:
        _json(pr.model_dump(mode="json"))
    else:
        print(f"#{pr.number} {pr.state.value} {inert(pr.url)}")
    return 0


async def cmd_task_take_hunk(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.domain.errors import InputError
    from asynccoder_tui.services import attempts

    async with opened(settings) as ctx:
        if args.list:
            hunks = await attempts.attempt_hunks(ctx, args.source)
            if args.json:
                _json([{"number": h.number, "path": h.path, "header": h.header, "id": h.id,
                        "added": h.added, "removed": h.removed} for h in hunks])  # fmt: skip
            for h in [] if args.json else hunks:
                print(f"{h.number:>3}  {inert(h.path)}  {inert(h.header)}  +{h.added} -{h.removed}")
            return 0
        if args.into is None:
            raise InputError("say which attempt takes the change: --into TASK")
        if args.file:
            await attempts.take_file(ctx, args.source, args.file, into=args.into)
            print(f"took the change of {inert(args.file)} into {args.into}")
        elif args.hunk is None:
            raise InputError("give the hunk's number (see --list), or --file PATH")
        else:
            hunk = await attempts.take_hunk(ctx, args.source, args.hunk, into=args.into)
            print(f"took hunk {hunk.number} ({inert(hunk.path)}) into {args.into}")
    return 0


async def cmd_task_plan_resume(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.cli.plans import print_plan
    from asynccoder_tui.services import plans

    async with opened(settings) as ctx:
        view = await plans.resume_plan(ctx, args.id, "skip" if args.skip else "continue")
    if args.json:
        _json(view.as_dict())
    else:
        print_plan(view)
    return 1 if view.status in ("conflict", "failed") else 0


def register_task_commands(sub: Any) -> Any:
    """The `task` group with its own actions; returns its subparsers for the other modules."""
    task = sub.add_parser("task", help="submit, list, show, cancel, follow up, retry, diff, pr")
    t = task.add_subparsers(dest="task_command", metavar="ACTION", required=True)

    p = t.add_parser("submit", help="queue a task for an agent")
    p.add_argument("prompt", help="what the agent should do ('-' reads standard input)")
    p.add_argument("--repo", required=True, help="repository: path, owner/name, name or id")
    p.add_argument("--mode", default="code", choices=[m.value for m in TaskMode])
    p.add_argument(
        "--plan", action="store_true", help="plan first: a planner proposes subtasks to approve"
    )
    p.add_argument(
        "--attempts", type=positive(4), default=1, help="best-of-N: run it as N attempts (1-4)"
    )
    p.add_argument("--models", help="with --attempts, comma-separated models used in turn")
    p.add_argument("--model", help="model name (default: the default_model setting)")
    p.add_argument("--branch", help="base branch (default: the repository's default branch)")
    p.add_argument("--priority", default="medium", choices=[x.value for x in Priority])
    p.add_argument("--title", help="title (default: the prompt's first line)")
    p.add_argument(
        "--wait", action="store_true", help="stream the transcript and exit with the outcome"
    )
    p.add_argument(
        "--no-worker", action="store_true", help="with --wait, never run the task in this process"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_task_submit)

    p = t.add_parser("list", help="list tasks, newest first (or --sort)")
    p.add_argument("--repo", help="only this repository")
    p.add_argument("--status", action="append", choices=[s.value for s in TaskStatus])
    p.add_argument("--search", help="text in the title or prompt")
    p.add_argument(
        "--sort",
        choices=TASK_SORTS,
        default="newest",
        help="newest or oldest first, by status (running, queued, failed, cancelled, "
        "completed), by cost (highest first) or most recently updated first",
    )
    p.add_argument("--limit", type=positive(10_000), default=50, help="at most this many (1-10000)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_task_list)

    p = t.add_parser("show", help="one task, with --events its transcript")
    _id(p)
    p.add_argument("--events", action="store_true", help="print the transcript")
    p.add_argument("--json", action="store_true", help="print JSON (with results and events)")
    p.set_defaults(handler=cmd_task_show)

    p = t.add_parser("cancel", help="cancel a queued or running task")
    _id(p)
    p.set_defaults(handler=cmd_task_cancel)

    p = t.add_parser("follow-up", help="continue a task with another message")
    _id(p)
    p.add_argument("message", help="the message ('-' reads standard input)")
    p.add_argument("--wait", action="store_true", help="stream the transcript until it ends")
    p.set_defaults(handler=cmd_task_follow_up)

    p = t.add_parser("retry", help="run a failed or cancelled task again")
    _id(p)
    p.set_defaults(handler=cmd_task_retry)

    p = t.add_parser("diff", help="print the task's diff against its base")
    _id(p)
    p.set_defaults(handler=cmd_task_diff)

    p = t.add_parser("pr", help="commit, push and open a pull request")
    _id(p)
    p.add_argument("--title", help="title (default: the task's title)")
    p.add_argument("--body", help="body (default: the task's summary)")
    p.add_argument("--draft", action="store_true", help="open it as a draft")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_task_pr)

    p = t.add_parser("take-hunk", help="apply a hunk of one attempt's diff to a sibling attempt")
    p.add_argument("source", metavar="FROM_TASK", help="the attempt to take from")
    p.add_argument("hunk", metavar="HUNK_INDEX", nargs="?", type=positive(100_000),
                   help="the hunk's number, from 1 across the diff (see --list)")  # fmt: skip
    p.add_argument("--into", metavar="TASK", help="the attempt whose workspace takes it")
    p.add_argument("--file", metavar="PATH", help="take this file's whole change instead")
    p.add_argument("--list", action="store_true", help="list FROM_TASK's numbered hunks")
    p.add_argument("--json", action="store_true", help="with --list, print JSON")
    p.set_defaults(handler=cmd_task_take_hunk)

    p = t.add_parser("plan-resume", help="go on with a plan a merge conflict or failure stopped")
    _id(p)
    p.add_argument("--skip", action="store_true", help="leave out the subtask that stopped it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_task_plan_resume)
    return t
