"""What every CLI command module shares: opening an `AppContext` for one command, printing JSON,
the task id argument, reading standard input and a bounded whole-number argument type.

It must not import the database or service layers at module level: the parser is built with it
before any command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asynccoder_tui.config import Settings
    from asynccoder_tui.services.context import AppContext


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


def _id(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="task id (or its first 8 characters)")
