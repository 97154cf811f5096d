"""Which check object runs each check name. A name with no check yet runs as `not_implemented`."""

from __future__ import annotations

import importlib

from evaluators.checks.base import Check

# name -> "module:attribute" of a Check instance; each check's issue adds its line when it lands.
_CHECKS: dict[str, str] = {}


def get_check(name: str) -> Check | None:
    """The check object for `name`, or None when it is not implemented yet."""
    spec = _CHECKS.get(name)
    if spec is None:
        return None
    module, attr = spec.split(":")
    check: Check = getattr(importlib.import_module(module), attr)
    return check
