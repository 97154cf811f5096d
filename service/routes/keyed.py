"""`KeyedController`: the base of every controller whose routes need an API key.

The scope guard and the OpenAPI security requirement are declared here, once (the store and settings are
provided by the app, see `deps`). A subclass names its `path` and the scope its handlers need
(`opt = needs_scope(...)`); a handler that needs another scope names it in its own `opt={"scope": ...}`,
which wins over the controller's.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller
from litestar.openapi.spec import SecurityRequirement

from service.auth import require_scope

BEARER: list[SecurityRequirement] = [{"bearer": []}]
"""The OpenAPI security requirement of a route that needs an API key."""


def needs_scope(scope: str) -> dict[str, Any]:
    """A layer's `opt` naming the scope `require_scope` checks."""
    return {"scope": scope}


class KeyedController(Controller):
    """Routes that need an API key with the scope in `opt["scope"]` (401 without a key, 403 without the scope)."""

    guards = (require_scope,)
    security = BEARER
