"""GET /v1/signing-keys: the public keys (active and retired) that scorecard envelopes verify with.

Public keys are public: no API key is needed, so governance tooling can fetch them as it is. The keys are
the deployment's shared ones (`shared.SigningKeys` in `app.state.signing_keys`, kept in the job store).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.connection import ASGIConnection

from service.routes.deps import StoreDep
from service.signing.dsse import PAYLOAD_TYPE
from service.signing.intoto import EnvelopeKind
from service.signing.shared import SigningKeys
from service.store.api import JobStore


def signing_keys_of(connection: ASGIConnection[Any, Any, Any, Any]) -> SigningKeys:
    """`app.state.signing_keys` when the app set one, else the keys of the app's settings."""
    existing = getattr(connection.app.state, "signing_keys", None)
    if isinstance(existing, SigningKeys):
        return existing
    keys = SigningKeys.from_settings(connection.app.state.settings)
    connection.app.state.signing_keys = keys
    return keys


async def sign_for(
    request: Request[Any, Any, Any], store: JobStore, scorecard: dict[str, Any], kind: EnvelopeKind = "scorecard"
) -> dict[str, Any]:
    """The DSSE envelope of the scorecard (or of its in-toto Statement), signed with the deployment's active key."""
    return await signing_keys_of(request).sign(store, scorecard, kind)


@get("/v1/signing-keys", summary="Public keys of the scorecard signatures")
async def list_signing_keys(request: Request[Any, Any, Any], store: StoreDep) -> dict[str, Any]:
    """`{"payload_type", "keys": [{keyid, algorithm, status, public_key_pem, created_at, retired_at}]}`."""
    keys = await signing_keys_of(request).published(store)
    return {"payload_type": PAYLOAD_TYPE, "keys": [k.as_json() for k in keys]}


signing_router = Router(path="/", route_handlers=[list_signing_keys])
"""Mount in create_app's route_handlers (which provides `store`, see service.routes.deps)."""
