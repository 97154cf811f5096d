"""The one model protocol every check talks to (in the spirit of lm-eval's LM interface).

Two batched async methods: log-likelihood of continuations given contexts, and generation until stop
strings. Backends declare `capabilities`; a check that needs one a backend lacks is skipped with the
reason on the scorecard. White-box access (hidden states, a trainable copy, weights) is an optional
extension only checkpoint backends offer (see `WhiteBoxModel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from schemas.errors import UnsupportedCapabilityError
from schemas.scorecard import ModelProvenance


class Capability(StrEnum):
    LOGLIKELIHOOD = "loglikelihood"
    """Log-probability of a continuation given a context (prompt log-probs on endpoints)."""
    TOP_LOGPROBS = "top_logprobs"
    """Top log-probabilities of the next token (chat-only endpoints)."""
    GENERATION = "generation"
    WHITE_BOX = "white_box"
    """Hidden states, a trainable copy and the weights: checkpoint backends only."""
    RAW_PROMPT = "raw_prompt"
    """Continues a prompt this service assembles, so a reply can begin with our text (`prefill`): checkpoints,
    and TGI and OpenAI completions servers when no server-side chat template applies (`chat_template: none`)."""
    LOCAL_CHAT_TEMPLATE = "local_chat_template"
    """Applies the chat template here, so a request may bring its own (`chat_template`): checkpoints only."""


@dataclass(frozen=True)
class LoglikelihoodRequest:
    context: str
    continuation: str


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """The text up to the first stop string (what every backend returns for a GenerationRequest)."""
    cut = len(text)
    for s in stop:
        if s and (i := text.find(s)) != -1:
            cut = min(cut, i)
    return text[:cut]


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    seed: int | None = None
    chat: bool = True
    """Apply the chat template (when the target's `chat_template` is `auto` and the model has one)."""
    top_p: float = 1.0
    """Nucleus sampling mass when sampling (temperature > 0); 1 keeps the whole distribution."""
    system_prompt: str | None = None
    """A system turn before the prompt (chat); on a raw prompt, the text and a blank line before it."""
    chat_template: str | None = None
    """A chat template replacing the model's own (needs Capability.LOCAL_CHAT_TEMPLATE; rendered sandboxed)."""
    prefill: str = ""
    """The reply's beginning, written by us (needs Capability.RAW_PROMPT): the model continues it, and the
    returned text is the continuation alone."""


def plain_prompt(request: GenerationRequest) -> str:
    """The request as one raw text, without a chat template: system prompt, prompt, then the prefill."""
    text = f"{request.system_prompt}\n\n{request.prompt}" if request.system_prompt else request.prompt
    return f"{text}\n{request.prefill}" if request.prefill else text


def unsupported_generation(capabilities: frozenset[Capability], request: GenerationRequest, where: str) -> None:
    """Raise UnsupportedCapabilityError when `request` needs what the backend at `where` lacks."""
    if request.prefill and Capability.RAW_PROMPT not in capabilities:
        raise UnsupportedCapabilityError(f"{where} cannot continue a raw prompt, so a reply cannot be prefilled")
    if request.chat_template is not None and Capability.LOCAL_CHAT_TEMPLATE not in capabilities:
        raise UnsupportedCapabilityError(f"{where} applies its own chat template; a request's template cannot apply")


@dataclass(frozen=True)
class NextTokenRequest:
    """Log-probabilities of given candidate next tokens (e.g. ' A'..' D') after a context."""

    context: str
    candidates: tuple[str, ...]
    chat: bool = False


BatchHook = Callable[[int], None]
"""Called by a backend after each batch with the number of requests done so far. The worker's hook
raises JobCancelledError or DeadlineExceededError there, so torch work stops at the next batch."""


@dataclass
class RuntimeInfo:
    """What the scorecard's provenance records about how a backend ran."""

    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class LanguageModel(Protocol):
    """A model under audit, whatever serves it."""

    name: str
    capabilities: frozenset[Capability]

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        """Per request: (sum of log-probs of the continuation's tokens, whether it is the greedy decode)."""
        ...

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        """Per request: the generated text, cut at the first stop string."""
        ...

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        """Per request: candidate -> log-prob of it as the next token (missing when not in the top-k)."""
        ...

    async def fingerprint(self) -> ModelProvenance:
        """Identity of the weights: sha256 of the weight files (verified) or the endpoint's claim."""
        ...

    def runtime(self) -> RuntimeInfo: ...

    async def close(self) -> None: ...


@runtime_checkable
class WhiteBoxModel(LanguageModel, Protocol):
    """The extension checkpoint backends offer to white-box attacks (relearning, quantization, probes).

    `torch_model` and `tokenizer` are the loaded transformers objects; attacks never modify them in
    place: they copy (`copy.deepcopy(torch_model)`), change the copy, and wrap it with `derived` so it is
    scored by the same batched code, then discard it.
    """

    @property
    def torch_model(self) -> Any: ...

    @property
    def tokenizer(self) -> Any: ...

    @property
    def device(self) -> str: ...

    def derived(self, torch_model: Any, label: str) -> LanguageModel:
        """A LanguageModel over a modified copy of the weights, sharing tokenizer and settings."""
        ...

    async def hidden_states(self, texts: Sequence[str], hook: BatchHook | None = None) -> list[Any]:
        """Per text: a float32 CPU tensor [num_layers + 1, hidden] of the last token's hidden states."""
        ...
