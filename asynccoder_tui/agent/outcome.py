"""What a run is allowed to spend (`Budget`) and what it ended with (`Outcome`)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from asynccoder_tui.agent.providers.base import Usage
from asynccoder_tui.agent.providers.messages import Message, conversation_to_json
from asynccoder_tui.agent.tokens import (
    MILLION,
    format_cost,
    output_tokens_affordable,
    worst_input_price,
)
from asynccoder_tui.domain.enums import ResultType
from asynccoder_tui.domain.models import AIModel

ESTIMATE_MARGIN = Decimal("1.15")
"""Input estimates are inflated by this much when projecting a call's cost."""


class ExitStatus(StrEnum):
    """Why a run ended. Only `submitted` means the agent called `finish`."""

    SUBMITTED = "submitted"
    COST_LIMIT = "cost_limit"
    STEP_LIMIT = "step_limit"
    TIME_LIMIT = "time_limit"
    CONTEXT_EXCEEDED = "context_exceeded"
    API_ERROR = "api_error"
    FORMAT_ERROR = "format_error"
    CANCELLED = "cancelled"


class Budget(BaseModel):
    """Limits of one run. The engine passes what is left of the task's (and user's) budget."""

    model_config = ConfigDict(frozen=True)

    max_steps: int = Field(default=50, ge=1)
    """Model calls at most (retries of a failed call do not count)."""
    max_seconds: float = Field(default=1800.0, gt=0)
    max_cost: Decimal | None = Decimal("2.00")
    """Dollars at most; None for no limit. A call is made only if its worst case fits."""
    min_output_tokens: int = Field(default=1024, ge=1)
    """A call that cannot afford this many output tokens is not made (cost_limit)."""

    def output_allowance(self, spent: Decimal, model: AIModel, input_estimate: int) -> int:
        """Output tokens the next call may use so that, even if every input token is billed at
        the dearest input rate (a cache write) and the estimate is 15% low, the call cannot
        take the spending past `max_cost`. 0 when not even the input fits."""
        if self.max_cost is None:
            return model.max_output
        input_cost = Decimal(input_estimate) * ESTIMATE_MARGIN * worst_input_price(model) / MILLION
        left = self.max_cost - spent - input_cost
        if left < 0:
            return 0
        affordable = output_tokens_affordable(left, model)
        if affordable is None:
            return model.max_output
        return min(model.max_output, affordable)

    @classmethod
    def from_settings(cls, settings: Any) -> Budget:
        """The defaults of `config.Settings` (`task_max_steps`, `_seconds`, `_cost`)."""
        return cls(
            max_steps=settings.task_max_steps,
            max_seconds=float(settings.task_max_seconds),
            max_cost=settings.task_max_cost,
        )


class Outcome(BaseModel):
    """How a run ended: status, summary, usage and cost, and the conversation to resume."""

    exit_status: ExitStatus
    summary: str
    usage: Usage
    cost: Decimal
    steps: int
    duration: float
    result_type: ResultType
    conversation: list[Message]
    changed_paths: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def submitted(self) -> bool:
        return self.exit_status is ExitStatus.SUBMITTED

    def conversation_json(self) -> list[dict[str, Any]]:
        return conversation_to_json(self.conversation)

    def as_dict(self, *, with_conversation: bool = False) -> dict[str, Any]:
        """JSON-safe summary (cost as a decimal string)."""
        data: dict[str, Any] = {
            "exit_status": self.exit_status.value,
            "summary": self.summary,
            "usage": self.usage.as_dict(),
            "cost": format_cost(self.cost),
            "steps": self.steps,
            "duration": round(self.duration, 3),
            "result_type": self.result_type.value,
            "changed_paths": list(self.changed_paths),
            "error": self.error,
        }
        if with_conversation:
            data["conversation"] = self.conversation_json()
        return data
