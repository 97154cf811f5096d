"""Which check object runs each check name. A name with no check yet runs as `not_implemented`.

Extension seam: `register_check(name, "module:attr")` points a check name at another Check object (a
deployment's own check, or a test's). The worker calls `load_check_plugins` at start with the
`UNLEARN_AUDIT_CHECK_PLUGINS` setting (`name=module:attr` pairs, comma-separated). Registered checks
take precedence over the built-in ones in this process only.
"""

from __future__ import annotations

import importlib

from evaluators.checks.base import Check

# name -> "module:attribute" of a Check instance; each check's issue adds its line when it lands.
_CHECKS: dict[str, str] = {
    "forget": "evaluators.checks.forget:FORGET_CHECK",
    "refusal": "evaluators.checks.refusal:REFUSAL_CHECK",
    "collateral": "evaluators.checks.collateral:COLLATERAL_CHECK",
}
_PLUGINS: dict[str, str] = {}


def get_check(name: str) -> Check | None:
    """The check object for `name`, or None when it is not implemented yet."""
    spec = _PLUGINS.get(name) or _CHECKS.get(name)
    if spec is None:
        return None
    module, attr = spec.split(":")
    check: Check = getattr(importlib.import_module(module), attr)
    return check


def preload_checks() -> list[str]:
    """Import every check this process would run (and torch with them), returning their names.

    A worker calls it once at start, off its event loop: imported on a job's first use instead, the seconds
    torch takes to import would block that job's heartbeats and could cost it its lease."""
    names = sorted({*_CHECKS, *_PLUGINS})
    for name in names:
        get_check(name)
    return names


def register_check(name: str, target: str) -> None:
    """Run `name` with the Check object at `target` ("package.module:attribute") in this process."""
    module, sep, attr = target.partition(":")
    if not (name and module and sep and attr):
        raise ValueError(f"check plugin {name}={target!r}: expected name=package.module:attribute")
    _PLUGINS[name] = target


def load_check_plugins(spec: str) -> list[str]:
    """Register every `name=module:attr` pair of a comma-separated spec; returns the names registered.

    Each target is imported at once, so a typo stops the worker at start rather than fails a job later.
    """
    names = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        name, sep, target = entry.partition("=")
        if not sep:
            raise ValueError(f"check plugin {entry!r}: expected name=package.module:attribute")
        register_check(name.strip(), target.strip())
        if get_check(name.strip()) is None:
            raise ValueError(f"check plugin {entry!r} did not resolve to a check")
        names.append(name.strip())
    return names
