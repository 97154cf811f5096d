"""GET /v1/evaluations/{id}/deliveries (every callback attempt) and POST .../deliveries/redeliver.

The store and settings are read from `app.state` (as service.app.create_app sets them).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath
from litestar.response import Response

from schemas.errors import NoCallbackError, NotFinishedError
from service.auth import require_scope
from service.callbacks.deliver import deliver_job_result
from service.errors import error_responses
from service.routes.deps import visible_job
from service.settings import Settings
from service.store.api import JobStore


def _store(request: Request[Any, Any, Any]) -> JobStore:
    store: JobStore = request.app.state.store
    return store


@get(
    "/v1/evaluations/{job_id:str}/deliveries",
    guards=[require_scope],
    security=[{"bearer": []}],
    opt={"scope": "read"},
    summary="Callback deliveries of an evaluation",
    responses=error_responses(401, 403, 404),
)
async def list_deliveries(job_id: FromPath[str], request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Attempts, oldest first, by delivery: `{"deliveries": [{delivery_id, channel, delivered, attempts}]}`;
    `channel` is `callback` (the request's callback.url), `huggingface` or `mlflow` (a registry write-back)."""
    store = _store(request)
    await visible_job(store, job_id, request)
    attempts = await store.delivery_attempts(job_id)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        grouped.setdefault(a.delivery_id, []).append(a.as_json())
    return {
        "deliveries": [
            {
                "delivery_id": d,
                "channel": xs[0]["channel"],
                "delivered": any(x["ok"] for x in xs),
                "attempts": xs,
            }
            for d, xs in grouped.items()
        ]
    }


@post(
    "/v1/evaluations/{job_id:str}/deliveries/redeliver",
    guards=[require_scope],
    security=[{"bearer": []}],
    opt={"scope": "submit"},
    summary="Deliver the result callback again",
    status_code=202,
    responses=error_responses(401, 403, 404, 409),
)
async def redeliver(job_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """A new delivery (new delivery id) of a finished evaluation's result; 202, sent after the answer."""
    store = _store(request)
    job = await visible_job(store, job_id, request)
    stored = await store.get_request(job_id)
    if stored is None or stored.callback is None:
        raise NoCallbackError(f"evaluation {job_id} has no callback.url")
    if job.status not in ("succeeded", "failed", "cancelled"):
        raise NotFinishedError(f"evaluation {job_id} has not ended; nothing to deliver yet")
    settings: Settings = request.app.state.settings
    return Response(
        {"status": "scheduled", "evaluation_id": job_id},
        status_code=202,
        background=BackgroundTask(deliver_job_result, store, settings, job_id),
    )


callback_router = Router(path="/", route_handlers=[list_deliveries, redeliver])
"""Mount in create_app's route_handlers."""
