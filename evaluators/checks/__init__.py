"""The three checks: forget efficacy, refusal consistency, collateral capability loss."""

from evaluators.checks.base import (
    Check,
    CheckContext,
    CheckOutcome,
    DatasetKind,
    DatasetResolver,
    LoadedDataset,
    not_implemented,
)
from evaluators.checks.registry import get_check, load_check_plugins, register_check

__all__ = [
    "Check",
    "CheckContext",
    "CheckOutcome",
    "DatasetKind",
    "DatasetResolver",
    "LoadedDataset",
    "get_check",
    "load_check_plugins",
    "not_implemented",
    "register_check",
]
