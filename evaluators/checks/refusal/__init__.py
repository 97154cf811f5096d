"""Refusal consistency (docs/methodology.md; docs/refusal.md): harmful prompts and their variants,
benign look-alikes, target vs baseline.

REFUSAL_CHECK, RefusalConsistencyCheck   the check (registered as `refusal`)
expand_prompt, VARIANTS_VERSION          variant families as versioned data
judges                                   degeneracy, keyword, model and layered judges; calibration set
metrics                                  clustered rates, retention, consistency, over-refusal change

The check imports torch (the refusal direction), so it is imported on first use of its names: the API process
reads the variant families and the judges' calibration without the model libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evaluators.checks.refusal.variants import (
    BUILTIN_FAMILIES,
    VARIANTS_VERSION,
    PromptVariant,
    expand_prompt,
)

if TYPE_CHECKING:
    from evaluators.checks.refusal.check import REFUSAL_CHECK, RefusalConsistencyCheck

__all__ = [
    "BUILTIN_FAMILIES",
    "REFUSAL_CHECK",
    "VARIANTS_VERSION",
    "PromptVariant",
    "RefusalConsistencyCheck",
    "expand_prompt",
]
_CHECK_NAMES = ("REFUSAL_CHECK", "RefusalConsistencyCheck")


def __getattr__(name: str) -> Any:
    if name in _CHECK_NAMES:
        return getattr(importlib.import_module("evaluators.checks.refusal.check"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
