"""Logging: JSON lines to `<state dir>/log/asynccoder.log`, with secrets redacted.

Part of the config layer (imports only config and domain). Every record passes through
`redact`, which masks API keys, tokens and URL passwords, so a secret that slips into a message
or an exception text still never reaches the file.

A log file that cannot be written (a full disk, a read-only or forbidden state directory)
never stops the program: `setup_logging` returns the reason instead of raising, and a write
that fails later is dropped quietly (the standard handler would print a traceback on standard
error for every record, over the terminal UI).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
from datetime import UTC, datetime
from pathlib import Path

_SECRET_PATTERNS = [
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{16,}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}"),
    re.compile(r"github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|token|basic)\s+)[^\s\"']+"),
    re.compile(r"(?i)((?:api[_-]?key|token|password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
    re.compile(r"(://[^:/@\s]*:)[^@/\s]+(@)"),
]

_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later log line (keys loaded from settings)."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def redact(text: str) -> str:
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)}***", text)
        else:
            text = pattern.sub("***", text)
    return text


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = (
                    value if isinstance(value, int | float | bool | type(None)) else str(value)
                )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


class QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose write failures are counted, not printed."""

    failures = 0

    def handleError(self, record: logging.LogRecord) -> None:
        self.failures += 1

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:
            self.failures += 1

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            self.failures += 1


def setup_logging(log_file: Path, level: str = "INFO") -> str | None:
    """Send the root logger to `log_file` as JSON lines (rotated at 10 MB, 5 kept).

    Returns None, or why the file cannot be written (logging then stays off)."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = QuietRotatingFileHandler(
            log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError as err:
        return f"cannot write the log file {log_file}: {err.strerror or err}"
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, logging.handlers.RotatingFileHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if level.upper() in logging._nameToLevel else "INFO")
    for noisy in ("asyncio", "httpx", "httpcore", "pgserver", "git"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return None
