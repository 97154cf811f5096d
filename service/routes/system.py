"""Liveness and readiness (open), and the policy presets (needs `read`)."""

from __future__ import annotations

import logging

from litestar import get

from schemas.policy import PresetDescription, describe_presets
from service.auth import require_scope
from service.errors import APIError
from service.routes.deps import StoreDep

log = logging.getLogger(__name__)


@get("/healthz", summary="Liveness", sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@get("/readyz", summary="Readiness: the database answers", description="503 when the store is unreachable.")
async def readyz(store: StoreDep) -> dict[str, str]:
    """Touch the database; 503 when it does not answer."""
    try:
        await store.ping()
    except Exception as exc:  # any failure to reach the DB means not ready
        log.warning("readiness check failed: %s", exc)
        raise APIError(503, "unavailable", f"the job store is unreachable: {type(exc).__name__}") from exc
    return {"status": "ready"}


@get(
    "/v1/policies",
    guards=[require_scope],
    opt={"scope": "read"},
    security=[{"bearer": []}],
    summary="Policy presets with each threshold and the reason for it",
    sync_to_thread=False,
)
def list_policies() -> list[PresetDescription]:
    """Every preset (`default`, `strict`, `lenient`) with its thresholds and reasons."""
    return describe_presets()


SYSTEM_ROUTES = [healthz, readyz, list_policies]
