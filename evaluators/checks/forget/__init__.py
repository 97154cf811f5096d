"""Forget efficacy: is the knowledge gone, or only hidden? Worst-case elicitation, black-box and white-box.

FORGET_CHECK, ForgetEfficacyCheck   the check (check.py: orchestration)
templates                           black-box prompt formats with versions
folds                               cross-fitting folds, selection/report halves, chance
figures                             residuals, simultaneous bounds, winner's curse, verdict rule
whitebox                            relearning (+placebo), benign relearning, quantization, lens, probe
"""

from evaluators.checks.forget.check import FORGET_CHECK, ForgetEfficacyCheck

__all__ = ["FORGET_CHECK", "ForgetEfficacyCheck"]
