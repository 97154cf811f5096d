"""Refusal consistency (docs/methodology.md; docs/refusal.md): harmful prompts and their variants,
benign look-alikes, target vs baseline.

REFUSAL_CHECK, RefusalConsistencyCheck   the check (registered as `refusal`)
expand_prompt, VARIANTS_VERSION          variant families as versioned data
judges                                   degeneracy, keyword, model and layered judges; calibration set
metrics                                  clustered rates, retention, consistency, over-refusal change
"""

from evaluators.checks.refusal.check import REFUSAL_CHECK, RefusalConsistencyCheck
from evaluators.checks.refusal.variants import (
    BUILTIN_FAMILIES,
    VARIANTS_VERSION,
    PromptVariant,
    expand_prompt,
)

__all__ = [
    "BUILTIN_FAMILIES",
    "REFUSAL_CHECK",
    "VARIANTS_VERSION",
    "PromptVariant",
    "RefusalConsistencyCheck",
    "expand_prompt",
]
