"""Model backends behind one protocol: checkpoint (transformers), TGI, OpenAI-compatible, sandbox."""

from evaluators.models.factory import BackendEnv, open_model
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
    "BackendEnv",
    "BatchHook",
    "Capability",
    "GenerationRequest",
    "LanguageModel",
    "LoglikelihoodRequest",
    "NextTokenRequest",
    "RuntimeInfo",
    "WhiteBoxModel",
    "open_model",
]
