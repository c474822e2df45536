"""Hostile input, table-driven: every case is an input and the words of the clear error it
must meet (or `OK` when it must be accepted).

A case passes when its attempt ends within its time limit either accepted (`OK`) or refused
with an `AsyncCoderError` (or a `Refused`, for refusals that are not exceptions: an exit code,
an error result of an agent tool) whose message holds the expected words. Anything else is a
failure: another exception is a crash, running out of time is a hang. Each group also checks,
after its cases, whatever its inputs could have harmed (the database invariants, the files
outside the workspace).

Groups: `repos` (paths, URLs and names of repositories), `branches`, `prompts` (prompts and
model names), `tools` (agent tool arguments), `contents` (what a repository holds), `config`,
`cli`, `github` (GitHub's answers) and `providers` (model APIs' answers).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from asynccoder_tui.domain.errors import AsyncCoderError

OK = "ok"


class Refused(Exception):
    """A refusal that is not an `AsyncCoderError` (an exit code, a tool's error result)."""


@dataclass(frozen=True)
class Case:
    name: str
    value: Any
    expect: str | tuple[str, ...]
    """`OK`, or words (any of several) the refusal must hold (case-insensitive)."""
    xfail: str | None = None
    """A known defect in code this suite does not own: the case is expected to fail."""
    timeout: float = 30.0


class Runner(Protocol):
    async def attempt(self, case: Case) -> str:
        """Try the case: a short description when accepted; raises when refused."""
        ...

    async def after(self, case: Case) -> list[str]:
        """What the case harmed (files outside the workspace changed...), in words."""
        ...

    async def consistent(self) -> list[str]:
        """What the group as a whole left broken (database invariants)."""
        ...


class Group(Protocol):
    name: str
    cases: list[Case]

    def open(
        self, db_url: str, workdir: Path
    ) -> contextlib.AbstractAsyncContextManager[Runner]: ...


async def check(runner: Runner, case: Case) -> str | None:
    """None when the case behaved as its table says, else the problem in words."""
    detail = ""
    refused: str | None = None
    try:
        detail = await asyncio.wait_for(runner.attempt(case), case.timeout)
    except (AsyncCoderError, Refused) as err:
        refused = str(err)
    except TimeoutError:
        return f"hung (no answer in {case.timeout:g} s)"
    except Exception as err:
        return f"crashed: {type(err).__name__}: {str(err)[:300]}"
    harmed = await runner.after(case)
    if harmed:
        return "; ".join(harmed)
    if case.expect == OK:
        return None if refused is None else f"refused: {refused[:300]}"
    words = (case.expect,) if isinstance(case.expect, str) else case.expect
    if refused is None:
        return f"accepted ({detail[:200]}), expected an error saying {' or '.join(words)!r}"
    if not any(w.lower() in refused.lower() for w in words):
        return f"the error {refused[:300]!r} does not say {' or '.join(words)!r}"
    return None


def params(cases: Iterable[Case]) -> list[Any]:
    """pytest parameters for `cases`, known defects marked strict xfail."""
    out = []
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@dataclass
class GroupResult:
    name: str
    cases: int
    failures: list[str]
    known: list[str]
    consistent: list[str]


async def run_group(group: Group, db_url: str, workdir: Path) -> GroupResult:
    """Every case of `group` (for the bench): failures, known defects, what was left broken."""
    failures: list[str] = []
    known: list[str] = []
    async with group.open(db_url, workdir) as runner:
        for case in group.cases:
            problem = await check(runner, case)
            if problem and case.xfail:
                known.append(f"{case.name}: {problem}")
            elif problem:
                failures.append(f"{case.name}: {problem}")
            elif case.xfail:
                failures.append(f"{case.name}: passes, but is marked as a known defect")
        broken = await runner.consistent()
    return GroupResult(group.name, len(group.cases), failures, known, broken)


def took(marker: Path) -> bool:
    """True (and the marker removed) when a payload left `marker` behind."""
    try:
        marker.unlink()
    except FileNotFoundError:
        return False
    return True


class NoHarm:
    """A runner mix-in for groups that touch neither files nor the database."""

    async def after(self, case: Case) -> list[str]:
        return []

    async def consistent(self) -> list[str]:
        return []


@contextlib.asynccontextmanager
async def nothing() -> AsyncIterator[None]:
    yield


def group_tests(group: Group) -> tuple[Any, Any, Any]:
    """The pytest fixture and tests of a group module: one test per case, then a check of
    what the whole group left behind. Use as
    `runner, test_case, test_group_leaves_nothing_broken = group_tests(GROUP)`."""
    import pytest_asyncio

    @pytest_asyncio.fixture(scope="module")
    async def runner(group_db_url: str, group_dir: Path) -> AsyncIterator[Runner]:
        async with group.open(group_db_url, group_dir) as opened:
            yield opened

    @pytest.mark.parametrize("case", params(group.cases))
    async def test_case(runner: Runner, case: Case) -> None:
        problem = await check(runner, case)
        assert problem is None, problem

    async def test_group_leaves_nothing_broken(runner: Runner) -> None:
        problems = await runner.consistent()
        assert not problems, problems

    return runner, test_case, test_group_leaves_nothing_broken
