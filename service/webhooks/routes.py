"""Registry webhook receivers (`POST /v1/webhooks/{registry}`) and the admin API of audit profiles.

Receivers take no API key: each verifies its sender's signature on the raw body before anything else
(401 when bad or missing; 503 naming the variable when its secret is unset). The store, its engine and
the settings are read from `app.state` (`store`, `settings`), as service.app.create_app sets them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Router, get, post, put
from litestar.params import FromQuery, JSONBody
from litestar.response import Response

from service.auth import require_scope
from service.errors import APIError
from service.settings import Settings
from service.signing.hmac_v1 import SignatureError
from service.webhooks import events, verify
from service.webhooks.events import PayloadError, RegistryEvent
from service.webhooks.log import WebhookEventLog
from service.webhooks.profiles import ProfileError, ProfileFile, ProfileSet, build_request
from service.webhooks.receive import handle_event


@dataclass(frozen=True)
class Receiver:
    secret_setting: str
    verify: Callable[[Any, bytes, str], None]
    parse: Callable[[dict[str, Any], Any], RegistryEvent]


RECEIVERS: dict[str, Receiver] = {
    "huggingface": Receiver(
        "hf_webhook_secret", verify.verify_huggingface, lambda p, h: events.parse_huggingface(p)
    ),
    "mlflow": Receiver(
        "mlflow_webhook_secret",
        verify.verify_mlflow,
        lambda p, h: events.parse_mlflow(p, h["x-mlflow-delivery-id"]),
    ),
    "databricks": Receiver(
        "databricks_webhook_secret", verify.verify_databricks, lambda p, h: events.parse_databricks(p)
    ),
    "wandb": Receiver("wandb_webhook_secret", verify.verify_wandb, lambda p, h: events.parse_wandb(p)),
    "generic": Receiver(
        "generic_webhook_secret",
        verify.verify_generic,
        lambda p, h: events.parse_generic(p, h["x-unlearn-audit-delivery-id"]),
    ),
}


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def profile_file(settings: Settings) -> ProfileFile:
    """The profiles file: UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE, else data_dir/webhook_profiles.yaml."""
    path = settings.webhook_profiles_file or Path(settings.data_dir) / "webhook_profiles.yaml"
    return ProfileFile(path)


def event_log(request: Request[Any, Any, Any]) -> WebhookEventLog:
    engine = getattr(request.app.state.store, "engine", None)
    if engine is None:
        raise APIError(503, "unavailable", "webhooks need the SQL job store (its engine records events)")
    return WebhookEventLog(engine)


def _json(outcome_status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(body, status_code=outcome_status, headers=headers or {})


async def _receive(registry: str, request: Request[Any, Any, Any]) -> Response[Any]:
    receiver = RECEIVERS[registry]
    settings = settings_of(request)
    secret = getattr(settings, receiver.secret_setting)
    if secret is None or not secret.get_secret_value():
        variable = f"UNLEARN_AUDIT_{receiver.secret_setting.upper()}"
        raise APIError(503, "webhook_not_configured", f"the {registry} receiver is off: set {variable}")
    body = await request.body()
    try:
        # Verify the raw bytes before parsing anything.
        receiver.verify(request.headers, body, secret.get_secret_value())
    except SignatureError as exc:
        raise APIError(401, "bad_signature", f"{registry} webhook: {exc}") from exc
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise PayloadError("payload must be a JSON object")
        event = receiver.parse(payload, request.headers)
    except (ValueError, PayloadError) as exc:
        raise APIError(400, "bad_payload", f"{registry} webhook: {exc}") from exc
    outcome = await handle_event(
        event, store=request.app.state.store, profiles=profile_file(settings), log=event_log(request)
    )
    return _json(outcome.status_code, outcome.body, outcome.headers)


_DOC = "Verifies the sender's signature on the raw body (401 if bad); a matching profile submits an audit."


@post("/v1/webhooks/huggingface", summary="Hugging Face Hub webhook", description=_DOC, status_code=202)
async def huggingface_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """`X-Webhook-Secret`; `repo.content` events on model repos start an audit (deduped on repo+sha)."""
    return await _receive("huggingface", request)


@post("/v1/webhooks/mlflow", summary="MLflow 3.x registry webhook", description=_DOC, status_code=202)
async def mlflow_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """`X-MLflow-Signature` (v1 HMAC, 5-minute window); model_version(.alias).created start an audit."""
    return await _receive("mlflow", request)


@post(
    "/v1/webhooks/databricks",
    summary="Databricks workspace registry webhook",
    description=_DOC,
    status_code=202,
)
async def databricks_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """`X-Databricks-Signature` (hex HMAC of the body); MODEL_VERSION_CREATED/TRANSITIONED_STAGE start one."""
    return await _receive("databricks", request)


@post("/v1/webhooks/wandb", summary="Weights & Biases automation webhook", description=_DOC, status_code=202)
async def wandb_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """`Authorization: Bearer <secret>`; artifact link/alias/create events start an audit."""
    return await _receive("wandb", request)


@post("/v1/webhooks/generic", summary="Generic signed webhook", description=_DOC, status_code=202)
async def generic_webhook(request: Request[Any, Any, Any]) -> Response[Any]:
    """`X-Unlearn-Audit-Signature` (our v1 HMAC scheme); `model_version.created` starts an audit."""
    return await _receive("generic", request)


@get(
    "/v1/webhooks/profiles",
    guards=[require_scope],
    opt={"scope": "admin"},
    summary="List audit profiles",
    sync_to_thread=False,
)
def list_profiles(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The profiles file's path and contents."""
    file = profile_file(settings_of(request))
    try:
        profiles = file.load()
    except ProfileError as exc:
        raise APIError(500, "invalid_profiles_file", str(exc)) from exc
    return {"path": str(file.path), **profiles.model_dump(mode="json", exclude_none=True)}


def _dry_run(profiles: ProfileSet) -> None:
    """Build each profile's request for a sample event, so a bad template is a 422 now, not at event time."""
    for i, profile in enumerate(profiles.profiles):
        sample = RegistryEvent(
            registry=profile.registry,
            event=(profile.events or ["model_version.created"])[0],
            model="example/model",
            version="1",
            revision="0" * 40,
            alias="latest",
            dedupe_key="dry-run",
            extra={"to_stage": "Staging", "project": "example/project"},
        )
        try:
            build_request(profile, sample)
        except ProfileError as exc:
            raise APIError(422, "invalid_profile", f"profiles.{i}: {exc}", field=f"profiles.{i}") from exc


@put(
    "/v1/webhooks/profiles",
    guards=[require_scope],
    opt={"scope": "admin"},
    summary="Replace audit profiles",
    sync_to_thread=False,
)
def set_profiles(data: JSONBody[ProfileSet], request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Validate every profile (422 naming the bad one) and replace the profiles file."""
    names = [p.name for p in data.profiles]
    if len(set(names)) != len(names):
        raise APIError(422, "invalid_profile", "profile names must be unique", field="profiles")
    _dry_run(data)
    file = profile_file(settings_of(request))
    file.save(data)
    return {"path": str(file.path), **data.model_dump(mode="json", exclude_none=True)}


@get("/v1/webhooks/events", guards=[require_scope], opt={"scope": "admin"}, summary="Recent registry events")
async def list_webhook_events(request: Request[Any, Any, Any], limit: FromQuery[int] = 50) -> dict[str, Any]:
    """Audit-starting events received, newest first: submitted, or recorded and ignored (and why)."""
    if not 1 <= limit <= 500:
        raise APIError(400, "bad_request", "limit must be between 1 and 500", field="limit")
    return {"items": [r.as_json() for r in await event_log(request).recent(limit)]}


webhook_router = Router(
    path="/",
    route_handlers=[
        huggingface_webhook,
        mlflow_webhook,
        databricks_webhook,
        wandb_webhook,
        generic_webhook,
        list_profiles,
        set_profiles,
        list_webhook_events,
    ],
)
"""Mount in create_app's route_handlers."""
