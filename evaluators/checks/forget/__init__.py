"""Forget efficacy: is the knowledge gone, or only hidden? Worst-case elicitation, black-box and white-box.

FORGET_CHECK, ForgetEfficacyCheck   the check (check.py: orchestration)
attack_names                        the black-box and white-box attack names
templates                           black-box prompt formats with versions
folds                               cross-fitting folds, selection/report halves, chance
figures                             residuals, simultaneous bounds, winner's curse, verdict rule
whitebox                            relearning (+placebo), benign relearning, quantization, lens, probe

The check imports torch, so it is imported on first use of its names: the API process reads this package's
torch-free modules (attack names) without the model libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluators.checks.forget.check import FORGET_CHECK, ForgetEfficacyCheck

__all__ = ["FORGET_CHECK", "ForgetEfficacyCheck"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("evaluators.checks.forget.check"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
