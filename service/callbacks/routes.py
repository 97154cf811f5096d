"""GET /v1/evaluations/{id}/deliveries (every callback attempt) and POST .../deliveries/redeliver."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath
from litestar.response import Response

from schemas.errors import NoCallbackError, NotFinishedError
from service.callbacks.deliver import deliver_job_result
from service.errors import error_responses
from service.routes.deps import SettingsDep, StoreDep, visible_job
from service.routes.keyed import KeyedController, needs_scope


class CallbackDeliveryController(KeyedController):
    """/v1/evaluations/{id}/deliveries: result-callback deliveries of an evaluation (`read`; redeliver `submit`)."""

    path = "/v1/evaluations/{job_id:str}/deliveries"
    opt = needs_scope("read")

    @get("/", summary="Callback deliveries of an evaluation", responses=error_responses(401, 403, 404))
    async def list_deliveries(
        self, job_id: FromPath[str], store: StoreDep, request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Attempts, oldest first, by delivery: `{"deliveries": [{delivery_id, channel, delivered, attempts}]}`;
        `channel` is `callback` (the request's callback.url), `huggingface` or `mlflow` (a registry write-back)."""
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
        "/redeliver",
        opt={"scope": "submit"},
        summary="Deliver the result callback again",
        status_code=202,
        responses=error_responses(401, 403, 404, 409),
    )
    async def redeliver(
        self, job_id: FromPath[str], store: StoreDep, settings: SettingsDep, request: Request[Any, Any, Any]
    ) -> Response[dict[str, Any]]:
        """A new delivery (new delivery id) of a finished evaluation's result; 202, sent after the answer."""
        job = await visible_job(store, job_id, request)
        stored = await store.get_request(job_id)
        if stored is None or stored.callback is None:
            raise NoCallbackError(f"evaluation {job_id} has no callback.url")
        if job.status not in ("succeeded", "failed", "cancelled"):
            raise NotFinishedError(f"evaluation {job_id} has not ended; nothing to deliver yet")
        return Response(
            {"status": "scheduled", "evaluation_id": job_id},
            status_code=202,
            background=BackgroundTask(deliver_job_result, store, settings, job_id),
        )


callback_router = Router(path="/", route_handlers=[CallbackDeliveryController])
"""Mount in create_app's route_handlers (which provides `store` and `settings`, see service.routes.deps)."""
