"""GET /v1/signing-keys: the public keys (active and retired) that scorecard envelopes verify with.

Public keys are public: no API key is needed, so governance tooling can fetch them as it is.
The key store lives under `app.state.settings.data_dir`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get

from service.signing.dsse import PAYLOAD_TYPE
from service.signing.keys import KeyStore


def keystore_of(request: Request[Any, Any, Any]) -> KeyStore:
    """`app.state.signing_keys` when the app set one, else the store under the settings' data dir."""
    existing = getattr(request.app.state, "signing_keys", None)
    if isinstance(existing, KeyStore):
        return existing
    return KeyStore.under(request.app.state.settings.data_dir)


@get("/v1/signing-keys", summary="Public keys of the scorecard signatures", sync_to_thread=True)
def list_signing_keys(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """`{"payload_type", "keys": [{keyid, algorithm, status, public_key_pem, created_at, retired_at}]}`."""
    keys = keystore_of(request).published()
    return {"payload_type": PAYLOAD_TYPE, "keys": [k.as_json() for k in keys]}


signing_router = Router(path="/", route_handlers=[list_signing_keys])
"""Mount in create_app's route_handlers."""
