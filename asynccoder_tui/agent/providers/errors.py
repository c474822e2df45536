"""Turning SDK and transport failures into `ProviderError`s the loop can act on.

The mapping is by duck typing (status code, response headers, error body), so this module does
not import the SDKs. Rules: 408, 409, 429, 5xx and 529 (overloaded) are retryable, as are
timeouts, dropped connections and malformed stream data; 400, 401, 403, 404 and 413 are not;
errors that say the prompt does not fit the context window set `context_exceeded`.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from asynccoder_tui.domain.errors import ProviderError

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})

_CONTEXT_PATTERNS = re.compile(
    r"prompt is too long|context[ _-]length|context window|maximum context|"
    r"too many (input )?tokens|input is too long|exceeds? the (model'?s? )?(context|maximum)|"
    r"request_too_large|reduce the length",
    re.IGNORECASE,
)

_RETRYABLE_TYPES = frozenset(
    {
        "overloaded_error",
        "api_error",
        "rate_limit_error",
        "timeout_error",
        "server_error",
        "rate_limit_exceeded",
        "internal_error",
        "service_unavailable",
    }
)

_SECRET_PATTERNS = re.compile(
    r"(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{16,}|"
    r"github_pat_[A-Za-z0-9_]{16,}|(?i:bearer)\s+[A-Za-z0-9._\-]{12,}|xai-[A-Za-z0-9]{16,})"
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with API keys, tokens and each of `secrets` replaced by `***`."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, "***")
    return _SECRET_PATTERNS.sub("***", text)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _error_fields(body: object) -> tuple[str | None, str | None]:
    """(type or code, message) from an error body in either provider's shape."""
    if isinstance(body, str):
        text = body
        try:
            body = json.loads(text)
        except ValueError:
            return None, text[:500]
    if not isinstance(body, Mapping):
        return None, None
    error = body.get("error", body)
    if not isinstance(error, Mapping):
        return None, str(error)[:500] if error else None
    kind = error.get("type") or error.get("code")
    message = error.get("message")
    code = error.get("code")
    if isinstance(code, str) and code in _RETRYABLE_TYPES | {"context_length_exceeded"}:
        kind = code
    return (str(kind) if kind else None, str(message)[:500] if message else None)


def is_context_message(text: str | None) -> bool:
    return bool(text and _CONTEXT_PATTERNS.search(text))


def provider_error_from_status(
    provider: str,
    status: int | None,
    *,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> ProviderError:
    """A `ProviderError` for an HTTP error status or an error event inside a stream."""
    kind, message = _error_fields(body)
    detail = redact(message or kind or "no details", secrets)
    context = kind == "context_length_exceeded" or is_context_message(message)
    if status == 413:
        context = True
    retry_after = parse_retry_after(headers)
    if status is not None and status >= 400:
        retryable = status in RETRYABLE_STATUS or (status >= 500 and status != 501)
        label = f"{provider} API error {status}"
    else:  # an error event inside a 200 stream
        retryable = kind in _RETRYABLE_TYPES
        if kind == "overloaded_error":
            status = 529
        label = f"{provider} API stream error {kind or ''}".rstrip()
    if context:
        retryable = False
    hint = _hint_for(status, context)
    return ProviderError(
        f"{label}: {detail}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
        context_exceeded=context,
        hint=hint,
    )


def _hint_for(status: int | None, context: bool) -> str | None:
    if context:
        return "the conversation no longer fits the model's context window"
    if status == 401:
        return "check the API key in settings"
    if status == 403:
        return "the API key lacks access to this model"
    if status == 404:
        return "check the model name and base URL"
    if status == 429:
        return "rate limited; retried with backoff"
    if status == 529:
        return "the provider is overloaded; retried with backoff"
    return None


def map_sdk_exception(
    provider: str, err: BaseException, *, secrets: tuple[str, ...] = ()
) -> ProviderError:
    """Map an exception raised by an SDK call or its stream to a `ProviderError`."""
    if isinstance(err, ProviderError):
        return err
    status = getattr(err, "status_code", None)
    response: Any = getattr(err, "response", None)
    if isinstance(status, int) and response is not None:
        headers = getattr(response, "headers", None)
        return provider_error_from_status(
            provider,
            status if status >= 400 else None,
            body=getattr(err, "body", None),
            headers=dict(headers) if headers is not None else None,
            secrets=secrets,
        )
    name = type(err).__name__
    lineage = {cls.__name__ for cls in type(err).__mro__}
    if (
        "APITimeoutError" in lineage
        or "TimeoutException" in lineage
        or isinstance(err, TimeoutError)
    ):
        return ProviderError(f"{provider} API timed out ({name})", retryable=True)
    if lineage & {"APIConnectionError", "TransportError", "RemoteProtocolError", "NetworkError"}:
        return ProviderError(
            f"{provider} API connection failed: {redact(str(err), secrets)[:300]}", retryable=True
        )
    if isinstance(err, ValueError) and "JSONDecodeError" in lineage:
        return ProviderError(
            f"{provider} API sent malformed JSON in its stream: {err}", retryable=True
        )
    if "APIError" in lineage:  # an error object inside an OpenAI stream
        return provider_error_from_status(
            provider, None, body={"error": getattr(err, "body", None)}, secrets=secrets
        )
    if "APIResponseValidationError" in lineage:
        return ProviderError(f"{provider} API sent an unexpected response: {err}", retryable=True)
    return ProviderError(f"{provider} API call failed: {name}: {redact(str(err), secrets)[:300]}")
