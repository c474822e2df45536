"""CLI commands for the work itself: `task`, `repo`, `usage`, `model` and `worker`.

Every command opens one `AppContext`, calls `services/`, prints plain text (or JSON with
`--json`) and closes it. Text that came from a model or a repository is printed inert.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from asynccoder_tui.domain.enums import EventKind, Priority, TaskMode, TaskStatus
from asynccoder_tui.domain.text import inert

if TYPE_CHECKING:
    # Imported when a command runs, not when the parser is built: the UI starts through
    # the same parser and must not pay for the database layer before its first frame.
    from asynccoder_tui.config import Settings
    from asynccoder_tui.domain.models import Task, TaskEvent
    from asynccoder_tui.services.context import AppContext

Handler = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]

EXIT_TASK_FAILED = 3
EXIT_TASK_CANCELLED = 4


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[AppContext]:
    from asynccoder_tui.services.context import AppContext

    ctx = await AppContext.open(settings)
    try:
        yield ctx
    finally:
        await ctx.close()


def _json(data: Any) -> None:
    from asynccoder_tui.cli import print_json

    print_json(data)


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


# task -------------------------------------------------------------------------------------------


def read_stdin() -> str:
    """Standard input as text; `InputError` when it is not UTF-8."""
    from asynccoder_tui.domain.errors import InputError

    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(
            f"standard input is not UTF-8 text (byte {err.start})",
            hint="convert it to UTF-8 first, e.g. with iconv",
        ) from None


def positive(limit: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to `limit`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be from 1 to {limit}, not {value}")
        return value

    return parse


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


async def wait_for(ctx: AppContext, task_id: UUID, *, as_json: bool, run_worker: bool) -> int:
    """Stream the transcript until the task ends; exit with its outcome."""
    from asynccoder_tui.services import live, tasks

    pool = None
    if run_worker and not await live.workers_alive(ctx):
        pool = await live.start_worker_pool(ctx, concurrency=1)
        if not as_json:
            print("no worker is running: running this task here", file=sys.stderr)
    seq = 0
    try:
        async with live.subscription(ctx, ["task_events", "task_status"]) as updates:
            while True:
                for event in await tasks.transcript(ctx, task_id, after_seq=seq):
                    seq = event.seq
                    if as_json:
                        from asynccoder_tui.cli import json_safe

                        print(json_safe(event.model_dump_json()))
                    else:
                        print_event(event)
                task = await tasks.get_task(ctx, task_id)
                if task.status.is_final and await _caught_up(ctx, task_id, seq):
                    break
                await updates.wait(timeout=1.0)
    finally:
        if pool is not None:
            await pool.stop()
    if not as_json:
        print(f"\n{task.status.value}: {inert(task.error or task.summary or '')}".rstrip(": "))
    return {
        TaskStatus.COMPLETED: 0,
        TaskStatus.CANCELLED: EXIT_TASK_CANCELLED,
    }.get(task.status, EXIT_TASK_FAILED)


async def _caught_up(ctx: AppContext, task_id: UUID, seq: int) -> bool:
    from asynccoder_tui.services import tasks

    return not await tasks.transcript(ctx, task_id, after_seq=seq, limit=1)


def print_event(event: TaskEvent) -> None:
    p = event.payload
    kind = event.kind
    if kind is EventKind.TEXT_DELTA:
        print(inert(str(p.get("text", ""))), end="", flush=True)
    elif kind is EventKind.MESSAGE:
        role = p.get("role", "user")
        if role == "user":
            print(f"\n> {inert(str(p.get('text', '')))}")
    elif kind is EventKind.TOOL_CALL:
        args = p.get("arguments")
        summary = inert(str(args))[:120] if args else ""
        print(f"\n  [{inert(str(p.get('name', 'tool')))}] {summary}")
    elif kind is EventKind.TOOL_RESULT:
        mark = "ok" if p.get("ok", True) else "failed"
        first = inert(str(p.get("output", ""))).strip().splitlines()[:1]
        print(f"    -> {mark}{': ' + first[0][:120] if first else ''}")
    elif kind is EventKind.STATUS:
        label = p.get("status") or p.get("state") or ""
        detail = p.get("detail") or ""
        if label not in ("step",):
            print(f"\n[{inert(str(label))}] {inert(str(detail))}".rstrip())
    elif kind is EventKind.RETRY:
        print(
            f"\n[retry {p.get('attempt')}] {inert(str(p.get('reason', '')))} (in {p.get('delay')} s)"
        )
    elif kind is EventKind.ERROR:
        print(f"\n[error] {inert(str(p.get('message', '')))}")
    elif kind is EventKind.USAGE and p.get("settlement"):
        print(f"\n[billed] {p.get('billed_credits', 0)} credits (${p.get('cost', '0')})")


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


# repo, usage, model, worker ---------------------------------------------------------------------


async def cmd_repo_add(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        repo = await repos.add_repo(ctx, args.ref)
    print(f"added {inert(repo.display_name)} (default branch {inert(repo.default_branch)})")
    return 0


async def cmd_repo_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        rows = await repos.list_repos(ctx, include_archived=args.all)
    if args.json:
        _json([{**r.repository.model_dump(mode="json"), "open_tasks": r.open_tasks} for r in rows])
    elif not rows:
        print("no repositories: add one with `asynccoder repo add PATH` or `owner/name`")
    for row in [] if args.json else rows:
        repo = row.repository
        where = inert(repo.local_path or repo.full_name or "")
        status = "" if repo.status.value == "active" else f" [{repo.status.value}]"
        print(f"{inert(repo.display_name):<30} {repo.kind.value:<6} {inert(repo.default_branch):<12} "
              f"{row.open_tasks:>3} open  {where}{status}")  # fmt: skip
    return 0


async def cmd_repo_sync(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        result = await repos.sync_github(
            ctx, progress=lambda done, total: print(f"\r{done}/{total}", end="", file=sys.stderr)
        )
    print(f"\nsynced {result.seen} repositories from GitHub")
    return 0


async def cmd_repo_archive(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import repos

    async with opened(settings) as ctx:
        repo = await repos.find(ctx, args.ref)
        await (repos.restore if args.restore else repos.archive)(ctx, repo.id)
    print(f"{inert(repo.display_name)} {'restored' if args.restore else 'archived'}")
    return 0


async def cmd_usage(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import usage

    async with opened(settings) as ctx:
        report = await usage.report(ctx)
    if args.json:
        _json(report.as_dict())
        return 0
    rate = report.credits_per_usd
    print(f"balance      {report.balance} credits (${report.balance / rate:.2f})")
    print(f"this month   {report.month_tokens:,} tokens, ${report.month_cost:.4f}")
    print("ledger       " + ", ".join(f"{k} {v}" for k, v in sorted(report.ledger_totals.items())))
    print(
        "tasks        "
        + (", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "none")
    )
    if report.by_model:
        print("by model")
        for m in report.by_model:
            print(
                f"  {inert(m.model):<24} {m.calls:>5} calls {m.input_tokens + m.output_tokens:>12,} tokens ${m.cost:.4f}"
            )
    for title, stats in (
        ("runs by agent", report.by_agent),
        ("runs by model", report.by_agent_model),
    ):
        if stats:
            print(title)
        for s in stats:
            print(f"  {inert(s.key):<24} {s.runs:>5} runs {s.success_rate:>6.0%} ok  mean ${s.mean_cost:.4f} "
                  f"{s.mean_seconds:.1f} s  {s.files_changed} files +{s.lines_added} -{s.lines_removed}")  # fmt: skip
    return 0


async def cmd_model_list(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import models

    async with opened(settings) as ctx:
        found = await models.list_models(ctx, active_only=not args.all)
    if args.json:
        _json([m.model_dump(mode="json") for m in found])
        return 0
    for m in found:
        print(f"{inert(m.name):<22} {m.provider.value:<18} in ${m.input_price}/M  out ${m.output_price}/M  "
              f"cache read ${m.cache_read_price}/M  {m.context_window:,} ctx"
              f"{'' if m.active else '  disabled'}")  # fmt: skip
    return 0


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from asynccoder_tui.services import live

    async with opened(settings) as ctx:
        pool = await live.start_worker_pool(ctx, concurrency=args.concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        print(
            f"worker {pool.worker_id} running {args.concurrency} task(s) at a time; Ctrl-C stops",
            file=sys.stderr,
        )
        await stop.wait()
        print("stopping: running tasks go back to the queue", file=sys.stderr)
        await pool.stop()
    return 0


# registration -----------------------------------------------------------------------------------


def _id(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="task id (or its first 8 characters)")


def register_work_commands(sub: Any) -> None:
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

    repo = sub.add_parser("repo", help="add, list, sync and archive repositories")
    r = repo.add_subparsers(dest="repo_command", metavar="ACTION", required=True)
    p = r.add_parser("add", help="add a local checkout (PATH) or a GitHub repository (owner/name)")
    p.add_argument("ref", metavar="PATH|URL")
    p.set_defaults(handler=cmd_repo_add)
    p = r.add_parser("list", help="list repositories")
    p.add_argument("--all", action="store_true", help="include archived ones")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_repo_list)
    p = r.add_parser("sync", help="refresh the repositories you can reach on GitHub")
    p.set_defaults(handler=cmd_repo_sync)
    p = r.add_parser("archive", help="archive a repository (soft delete; --restore undoes)")
    p.add_argument("ref", metavar="REPO")
    p.add_argument("--restore", action="store_true", help="bring an archived repository back")
    p.set_defaults(handler=cmd_repo_archive)

    from asynccoder_tui.cli.attempts import register_attempt_commands
    from asynccoder_tui.cli.plans import register_plan_commands
    from asynccoder_tui.cli.repo_settings import register_repo_settings_commands
    from asynccoder_tui.cli.reviews import register_review_commands

    register_review_commands(t, r)
    register_repo_settings_commands(r)
    register_plan_commands(t)
    register_attempt_commands(t)

    p = sub.add_parser("usage", help="balance, ledger and usage by model")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_usage)

    model = sub.add_parser("model", help="models and prices")
    m = model.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    p = m.add_parser("list", help="list models with their prices per million tokens")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--all", action="store_true", help="disabled models too")
    p.set_defaults(handler=cmd_model_list)
    from asynccoder_tui.cli.catalog import register_agent_commands, register_model_actions

    register_model_actions(m)
    register_agent_commands(sub)

    p = sub.add_parser("worker", help="run tasks from the queue until stopped (SIGINT/SIGTERM)")
    p.add_argument(
        "--concurrency", type=positive(64), default=2, help="tasks at a time (1-64, default 2)"
    )
    p.set_defaults(handler=cmd_worker)
