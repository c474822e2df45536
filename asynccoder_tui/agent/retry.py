"""When and how long to wait before retrying a failed provider call.

Exponential backoff with full jitter (a delay drawn uniformly from zero to
`base_delay * 2**attempt`, capped at `max_delay`), except that a server's `retry-after` is
honoured (never waiting less than it asks). Bounded twice: at most `max_retries` retries per
turn, and at most `max_total_wait` seconds of waiting per turn. Only `ProviderError`s marked
retryable (429, 529, 5xx, timeouts, dropped connections) are retried, never context errors.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from asynccoder_tui.domain.errors import ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_total_wait: float = 300.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    def should_retry(self, err: ProviderError, retries_done: int, waited: float) -> bool:
        if not err.retryable or err.context_exceeded:
            return False
        return retries_done < self.max_retries and waited < self.max_total_wait

    def delay(self, err: ProviderError, retries_done: int) -> float:
        """Seconds to wait before retry number `retries_done + 1`."""
        ceiling = min(self.max_delay, self.base_delay * (2**retries_done))
        jittered = self.rng.uniform(0.0, ceiling)
        if err.retry_after is not None:
            return max(err.retry_after, jittered)
        return jittered

    def fits(self, delay: float, waited: float) -> bool:
        """True when waiting `delay` more stays within `max_total_wait` (and `max_delay`)."""
        return waited + delay <= self.max_total_wait and delay <= max(self.max_delay, 0.0)
