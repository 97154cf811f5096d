"""Registry webhook receivers (`POST /v1/webhooks/{registry}`) and the admin API of audit profiles.

Receivers take no API key: each verifies its sender's signature on the raw body before anything else
(401 when bad or missing; 503 naming the variable when its secret is unset). Handlers take the store and
settings as dependencies (service.routes.deps); the admin routes are one controller (`admin` scope).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Router, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import JSONBody, QueryParameter
from litestar.response import Response

from schemas.errors import BadSignatureError, ConfigurationError, PayloadError, ProfileError, WebhookNotConfiguredError
from service.auth import current_principal
from service.errors import error_responses
from service.json_body import parse_json
from service.routes.deps import SettingsDep, StoreDep
from service.routes.keyed import KeyedController, needs_scope
from service.settings import Settings
from service.store.api import JobStore
from service.store.convert import MAX_CURSOR_CHARS
from service.webhooks import events, verify
from service.webhooks.events import RegistryEvent
from service.webhooks.profiles import ProfileSet
from service.webhooks.receive import handle_event
from service.webhooks.stored import StoredProfiles, check_profiles, unique_names


@dataclass(frozen=True)
class Receiver:
    secret_setting: str
    verify: Callable[[Any, bytes, str], None]
    parse: Callable[[dict[str, Any], Any], RegistryEvent]


RECEIVERS: dict[str, Receiver] = {
    "huggingface": Receiver("hf_webhook_secret", verify.verify_huggingface, lambda p, h: events.parse_huggingface(p)),
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


def profiles_of(request: Request[Any, Any, Any], settings: Settings) -> StoredProfiles:
    """`app.state.webhook_profiles` when the app set one, else the stored profiles of the app's settings."""
    existing = getattr(request.app.state, "webhook_profiles", None)
    if isinstance(existing, StoredProfiles):
        return existing
    profiles = StoredProfiles.from_settings(settings)
    request.app.state.webhook_profiles = profiles
    return profiles


async def record_refused_delivery(
    store: JobStore, registry: str, refused: BadSignatureError, request: Request[Any, Any, Any]
) -> None:
    """Keep a delivery refused for its signature where admins see deliveries (GET /v1/webhooks/deliveries): why,
    from where, how large; never its body, which nobody vouched for."""
    client = request.client.host if request.client else "unknown"
    length = request.headers.get("content-length", "?")
    await store.record_registry_delivery(
        registry,
        f"refused:{uuid.uuid4()}",
        event="",
        model="",
        status="bad_signature",
        detail=f"{refused.message[:300]} (from {client[:64]}, {length[:12]} bytes; body not kept)",
        profile=None,
        job_id=None,
    )


async def _receive(
    registry: str, request: Request[Any, Any, Any], store: JobStore, settings: Settings
) -> Response[Any]:
    receiver = RECEIVERS[registry]
    secret = getattr(settings, receiver.secret_setting)
    if secret is None or not secret.get_secret_value():
        variable = f"UNLEARN_AUDIT_{receiver.secret_setting.upper()}"
        raise WebhookNotConfiguredError(f"the {registry} receiver is off: set {variable}")
    body = await request.body()
    # Verify the raw bytes before parsing anything (BadSignatureError: 401).
    try:
        receiver.verify(request.headers, body, secret.get_secret_value())
    except BadSignatureError as refused:
        await record_refused_delivery(store, registry, refused, request)
        raise
    payload = parse_json(body, request.headers.get("content-type"))
    if not isinstance(payload, dict):
        raise PayloadError(f"{registry} webhook: the payload must be a JSON object")
    event = receiver.parse(payload, request.headers)
    outcome = await handle_event(event, store=store, profiles=profiles_of(request, settings), settings=settings)
    return Response(outcome.body, status_code=outcome.status_code, headers=outcome.headers or {})


_DOC = "Verifies the sender's signature on the raw body (401 if bad); a matching profile submits an audit."
_RECEIVER_RESPONSES = {
    200: ResponseSpec(
        data_container=dict[str, Any],
        description="A duplicate delivery: already submitted.",
        generate_examples=False,
    ),
    **error_responses(400, 401, 403, 413, 415, 422, 429, 503),
}


@dataclass
class _ReceiverOperation(Operation):
    """A receiver reads its body raw (the signature is over the bytes), so Litestar sees no body to document."""

    def __post_init__(self) -> None:
        if self.request_body is None:
            payload = Schema(type=OpenAPIType.OBJECT, description="The registry's event payload, as it sends it.")
            content = {"application/json": OpenAPIMediaType(schema=payload)}
            self.request_body = RequestBody(content=content, required=True)


def _receiver(path: str, summary: str) -> Any:
    """The route decorator of one registry receiver."""
    return post(
        path,
        summary=summary,
        description=_DOC,
        status_code=202,
        responses=_RECEIVER_RESPONSES,
        operation_class=_ReceiverOperation,
    )


@_receiver("/v1/webhooks/huggingface", "Hugging Face Hub webhook")
async def huggingface_webhook(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """`X-Webhook-Secret`; `repo.content` events on model repos start an audit (deduped on repo+sha)."""
    return await _receive("huggingface", request, store, settings)


@_receiver("/v1/webhooks/mlflow", "MLflow 3.x registry webhook")
async def mlflow_webhook(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """`X-MLflow-Signature` (v1 HMAC, 5-minute window); model_version(.alias).created start an audit."""
    return await _receive("mlflow", request, store, settings)


@_receiver("/v1/webhooks/databricks", "Databricks workspace registry webhook")
async def databricks_webhook(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """`X-Databricks-Signature` (hex HMAC of the body); MODEL_VERSION_CREATED/TRANSITIONED_STAGE start one."""
    return await _receive("databricks", request, store, settings)


@_receiver("/v1/webhooks/wandb", "Weights & Biases automation webhook")
async def wandb_webhook(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """`Authorization: Bearer <secret>`; artifact link/alias/create events start an audit."""
    return await _receive("wandb", request, store, settings)


@_receiver("/v1/webhooks/generic", "Generic signed webhook")
async def generic_webhook(request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep) -> Response[Any]:
    """`X-Unlearn-Audit-Signature` (our v1 HMAC scheme); `model_version.created` starts an audit."""
    return await _receive("generic", request, store, settings)


class WebhookAdminController(KeyedController):
    """/v1/webhooks: audit profiles and the log of registry deliveries (`admin`)."""

    path = "/v1/webhooks"
    opt = needs_scope("admin")

    @get(
        "/profiles",
        summary="List audit profiles",
        responses=error_responses(401, 403),
    )
    async def list_profiles(
        self, request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep
    ) -> dict[str, Any]:
        """The stored profiles, and the path of the profiles file imported into the store."""
        stored = profiles_of(request, settings)
        try:
            profiles = await stored.load(store)
        except ProfileError as exc:
            raise ConfigurationError(f"the audit profiles are broken: {exc.message}") from exc
        return {"path": str(stored.file.path), **profiles.model_dump(mode="json", exclude_none=True)}

    @put(
        "/profiles",
        summary="Replace audit profiles",
        description="A profile whose requests use remote code or pickle weights can be saved only by a key with "
        "the `unsafe` scope (and only where the operator allows them).",
        responses=error_responses(400, 401, 403, 413, 415, 422),
    )
    async def set_profiles(
        self, data: JSONBody[ProfileSet], request: Request[Any, Any, Any], store: StoreDep, settings: SettingsDep
    ) -> dict[str, Any]:
        """Validate every profile (422 naming the bad one) and replace the stored profiles."""
        unique_names(data)
        check_profiles(data, settings, may_use_unsafe=current_principal(request).has("unsafe"))
        stored = profiles_of(request, settings)
        await stored.save(store, data)
        return {"path": str(stored.file.path), **data.model_dump(mode="json", exclude_none=True)}

    @get(
        "/deliveries",
        summary="Registry deliveries, newest first",
        description="What the webhook receivers got: each audit-starting event a registry delivered, submitted "
        "or recorded and ignored (and why), and deliveries refused for their signature. "
        "`{items, next_cursor}`: pass `next_cursor` back as `cursor` for the next page.",
        responses=error_responses(400, 401, 403),
    )
    async def list_registry_deliveries(
        self,
        store: StoreDep,
        limit: Annotated[int, QueryParameter(ge=1, le=500, description="Deliveries per page.")] = 50,
        cursor: Annotated[
            str | None,
            QueryParameter(max_length=MAX_CURSOR_CHARS, description="The `next_cursor` of the previous page."),
        ] = None,
    ) -> dict[str, Any]:
        """A page of registry deliveries, newest first."""
        return (await store.registry_deliveries(limit, cursor)).as_json()

    @get(
        "/events",
        summary="Recent registry events (deprecated: GET /v1/webhooks/deliveries)",
        description="Deprecated: GET /v1/webhooks/deliveries lists the same deliveries and pages them. This "
        "answers its first `limit` items as `{items}`.",
        deprecated=True,
        responses=error_responses(400, 401, 403),
    )
    async def list_webhook_events(
        self, store: StoreDep, limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50
    ) -> dict[str, Any]:
        """The newest registry deliveries, without a cursor (the deprecated name of `list_registry_deliveries`)."""
        page = await store.registry_deliveries(limit)
        return {"items": [d.as_json() for d in page.items]}


webhook_router = Router(
    path="/",
    route_handlers=[
        huggingface_webhook,
        mlflow_webhook,
        databricks_webhook,
        wandb_webhook,
        generic_webhook,
        WebhookAdminController,
    ],
)
"""Mount in create_app's route_handlers (which provides `store` and `settings`, see service.routes.deps)."""
