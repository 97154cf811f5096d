"""Collateral capability (docs/methodology.md, "Collateral capability"): accuracy per dataset (general and adjacent)
against the baseline, retain-corpus perplexity ratio, degenerate generation on benign prompts.

    COLLATERAL_CHECK, CollateralCapabilityCheck   the check (registered as `collateral`)
"""

from evaluators.checks.collateral.check import COLLATERAL_CHECK, CollateralCapabilityCheck

__all__ = ["COLLATERAL_CHECK", "CollateralCapabilityCheck"]
