"""How the screens write times, money, credits and task states.

Pure functions over domain values; every string that came from a model, a repository or a
remote goes through `safe()` (escape sequences removed) and is wrapped in `rich.text.Text` by
the caller, never parsed as markup.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from asynccoder_tui.domain.enums import TaskStatus
from asynccoder_tui.domain.text import inert

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

STATUS_ICON = {
    TaskStatus.QUEUED: "○",
    TaskStatus.RUNNING: "◐",
    TaskStatus.COMPLETED: "✔",
    TaskStatus.FAILED: "✘",
    TaskStatus.CANCELLED: "⊘",
}

STATUS_STYLE = {
    TaskStatus.QUEUED: "dim",
    TaskStatus.RUNNING: "bold",
    TaskStatus.COMPLETED: "green",
    TaskStatus.FAILED: "red",
    TaskStatus.CANCELLED: "yellow",
}


def safe(text: object, limit: int | None = None) -> str:
    """`text` as one inert line, cut to `limit` characters with an ellipsis."""
    value = " ".join(inert(str(text)).split())
    if limit is not None and len(value) > limit:
        return value[: max(0, limit - 1)] + "…"
    return value


def age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "?"
    seconds = max(0.0, (now - then).total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def money(value: Decimal | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "$0"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def credits(value: int) -> str:
    return f"{value:,}"


def spinner_frame(tick: int) -> str:
    return SPINNER[tick % len(SPINNER)]


def compact_number(value: int) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1_000:.0f}k"
    if value >= 1_000:
        return f"{value / 1_000:.1f}k"
    return str(value)
