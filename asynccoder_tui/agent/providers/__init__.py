"""AI providers behind one streaming contract, and `make_provider` to pick one for a model.

- `messages.py`: the neutral conversation model and its JSON form (stored, resumed).
- `base.py`: `Provider`, `ToolSpec`, `StreamLimits`, `Usage`, `StopReason`, stream events.
- `anthropic.py`, `openai.py`: the real APIs through their official SDKs (imported lazily).
- `scripted.py`: plans replayed without a network, for the demo and tests.
- `errors.py`: SDK failures mapped to `ProviderError` (retryable or not, retry-after, context).

Importing this package must not import `anthropic` or `openai`: they load in about a second and
are needed only when a task of that provider runs.
"""

from __future__ import annotations

from pydantic import SecretStr

from asynccoder_tui.agent.providers.base import (
    Provider,
    ProviderEvent,
    StopReason,
    StreamLimits,
    TextDelta,
    ToolArgumentsDelta,
    ToolCallReady,
    ToolCallStarted,
    ToolSpec,
    TurnDone,
    Usage,
    UsageUpdate,
)
from asynccoder_tui.agent.providers.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    ToolResultsMessage,
    UserMessage,
    check_conversation,
    conversation_from_json,
    conversation_to_json,
    repair_conversation,
)
from asynccoder_tui.agent.providers.scripted import (
    NAMED_PLANS,
    ScriptedProvider,
    ScriptedTurn,
    scripted_provider_for,
)
from asynccoder_tui.domain.enums import ProviderKind
from asynccoder_tui.domain.errors import ConfigError
from asynccoder_tui.domain.models import AIModel

__all__ = [
    "NAMED_PLANS",
    "AssistantMessage",
    "Message",
    "Provider",
    "ProviderEvent",
    "ScriptedProvider",
    "ScriptedTurn",
    "StopReason",
    "StreamLimits",
    "TextDelta",
    "ToolArgumentsDelta",
    "ToolCall",
    "ToolCallReady",
    "ToolCallStarted",
    "ToolResult",
    "ToolResultsMessage",
    "ToolSpec",
    "TurnDone",
    "Usage",
    "UsageUpdate",
    "UserMessage",
    "check_conversation",
    "conversation_from_json",
    "conversation_to_json",
    "make_provider",
    "repair_conversation",
]


def _secret(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value or None


def make_provider(
    model: AIModel,
    *,
    anthropic_api_key: str | SecretStr | None = None,
    openai_api_key: str | SecretStr | None = None,
    anthropic_base_url: str | None = None,
    openai_base_url: str | None = None,
    compatible_api_key: str | SecretStr | None = None,
) -> Provider:
    """The provider that serves `model`.

    `scripted:<plan>` names (or `ProviderKind.SCRIPTED`) give a `ScriptedProvider`. Anthropic
    models use the Messages API; OpenAI models the Responses API, unless the model lists the
    capability `chat_completions`; `openai_compatible` models use Chat Completions at
    `model.base_url` (Ollama, vLLM, LM Studio, Gemini) with `compatible_api_key` (never the
    OpenAI key: it must not be sent to another vendor's endpoint).
    `model.base_url`, when set, wins over the `*_base_url` arguments. A missing key is a
    `ConfigError` naming the setting to fill in.
    """
    if model.name.startswith("scripted:") or model.provider is ProviderKind.SCRIPTED:
        return scripted_provider_for(model.name)
    if model.provider is ProviderKind.ANTHROPIC:
        key = _secret(anthropic_api_key)
        if key is None:
            raise ConfigError(
                f"no Anthropic API key for model {model.name}",
                hint="set ANTHROPIC_API_KEY or add the key in settings",
            )
        from asynccoder_tui.agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider(
            model.name,
            api_key=key,
            base_url=model.base_url or anthropic_base_url,
            prompt_cache="no_prompt_cache" not in model.capabilities,
        )
    from asynccoder_tui.agent.providers.openai import OpenAIChatProvider, OpenAIResponsesProvider

    if model.provider is ProviderKind.OPENAI:
        key = _secret(openai_api_key)
        if key is None:
            raise ConfigError(
                f"no OpenAI API key for model {model.name}",
                hint="set OPENAI_API_KEY or add the key in settings",
            )
        base_url = model.base_url or openai_base_url
        if "chat_completions" in model.capabilities:
            return OpenAIChatProvider(
                model.name, api_key=key, base_url=base_url, kind=ProviderKind.OPENAI
            )
        return OpenAIResponsesProvider(model.name, api_key=key, base_url=base_url)
    if model.provider is ProviderKind.OPENAI_COMPATIBLE:
        base_url = model.base_url
        if not base_url:
            raise ConfigError(
                f"model {model.name} is OpenAI-compatible but has no base URL",
                hint="set the model's base URL, e.g. http://localhost:11434/v1 for Ollama",
            )
        return OpenAIChatProvider(
            model.name,
            api_key=_secret(compatible_api_key),
            base_url=base_url,
            kind=ProviderKind.OPENAI_COMPATIBLE,
        )
    raise ConfigError(f"unsupported provider {model.provider} for model {model.name}")
