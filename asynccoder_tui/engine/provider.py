"""`WatchedProvider`: a provider seen through the engine's eyes.

The agent loop retries a model call itself and, when it gives up, reports the failure in words;
whether another attempt of the whole task is worthwhile depends on the error's kind (a 529 or a
429 is, a 401 is not). This wrapper remembers the last `ProviderError` the provider raised, so
the runner can decide. It changes nothing else: every event passes through as it came.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from asynccoder_tui.agent.providers.base import (
    Provider,
    ProviderEvent,
    StreamLimits,
    ToolSpec,
)
from asynccoder_tui.agent.providers.messages import Message
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ProviderError


class WatchedProvider:
    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.last_error: ProviderError | None = None

    @property
    def kind(self) -> ProviderKind:
        return self.inner.kind

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def supports_prompt_cache(self) -> bool:
        return self.inner.supports_prompt_cache

    @property
    def secrets(self) -> Any:
        return getattr(self.inner, "secrets", ())

    async def stream(
        self,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        limits: StreamLimits,
    ) -> AsyncIterator[ProviderEvent]:
        events = self.inner.stream(system, messages, tools, limits)
        try:
            async for event in events:
                yield event
            self.last_error = None  # a turn that streamed to its end clears the record
        except ProviderError as err:
            self.last_error = err
            raise
        finally:
            closing = getattr(events, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing()

    async def aclose(self) -> None:
        await self.inner.aclose()
