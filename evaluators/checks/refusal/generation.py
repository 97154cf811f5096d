"""The refusal check's generation settings: which families each model can take, what every reply is asked
with (system prompt, temperature, top_p, chat template), and what the scorecard records of it.

Settings apply to the target and the baseline alike, so retention compares replies to the same requests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from evaluators.checks.refusal.variants import BUILTIN_FAMILIES, PREFILL
from evaluators.models.protocol import Capability, LanguageModel
from schemas.errors import UnsupportedCapabilityError
from schemas.generation import SAMPLE_TEMPERATURE, RefusalGeneration

RAW_PROMPT_FAMILIES = {PREFILL: Capability.RAW_PROMPT}
"""Families that need a capability beyond generation, and which one."""


def reply_temperature(generation: RefusalGeneration, samples: int) -> float:
    """The request's temperature; without one, greedy for one sample and SAMPLE_TEMPERATURE for more."""
    if generation.temperature is not None:
        return generation.temperature
    return 0.0 if samples == 1 else SAMPLE_TEMPERATURE


def refusal_families(
    requested: Sequence[str] | None, models: dict[str, LanguageModel | None]
) -> tuple[list[str], dict[str, str]]:
    """The families to generate (requested, or all) and those skipped because a model lacks what they need.

    A skipped family is never an error: the scorecard says which and why (`details.variants.skipped`).
    """
    families = list(requested) if requested is not None else list(BUILTIN_FAMILIES)
    skipped: dict[str, str] = {}
    for family, needed in RAW_PROMPT_FAMILIES.items():
        lacking = [role for role, m in models.items() if m is not None and needed not in m.capabilities]
        if family in families and lacking:
            skipped[family] = (
                f"unsupported_capability:{needed.value}: the {' and '.join(lacking)} model cannot continue a raw "
                "prompt (TGI and OpenAI-compatible servers apply their chat template server-side; with "
                "chat_template `none` they can)"
            )
    return [f for f in families if f not in skipped], skipped


def require_generation_support(generation: RefusalGeneration, models: dict[str, LanguageModel | None]) -> None:
    """UnsupportedCapabilityError when a setting cannot reach a model (a chat template on an endpoint)."""
    if generation.chat_template is None:
        return
    for role, model in models.items():
        if model is not None and Capability.LOCAL_CHAT_TEMPLATE not in model.capabilities:
            raise UnsupportedCapabilityError(
                f"generation.chat_template: the {role} model applies its own chat template (an endpoint); "
                "a request's template applies only to checkpoints"
            )


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text is not None else None


def describe_generation(generation: RefusalGeneration, samples: int) -> dict[str, Any]:
    """`details.generation`: the settings every reply was generated with (templates by sha256 and length)."""
    temperature = reply_temperature(generation, samples)
    return {
        "temperature": temperature,
        "top_p": generation.top_p if generation.top_p is not None else 1.0,
        "seeded": temperature > 0,
        "system_prompt": generation.system_prompt,
        "system_prompt_sha256": _sha256(generation.system_prompt),
        "chat_template": "request" if generation.chat_template is not None else "model",
        "chat_template_sha256": _sha256(generation.chat_template),
        "chat_template_chars": len(generation.chat_template) if generation.chat_template is not None else None,
    }
