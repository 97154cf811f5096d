"""Model backends behind one protocol: checkpoint (transformers), TGI, OpenAI-compatible, sandbox."""

from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LanguageModel,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
    WhiteBoxModel,
)

__all__ = [
    "BatchHook",
    "Capability",
    "GenerationRequest",
    "LanguageModel",
    "LoglikelihoodRequest",
    "NextTokenRequest",
    "RuntimeInfo",
    "WhiteBoxModel",
]
