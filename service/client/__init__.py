"""The Python client of the unlearn-audit API: httpx and the contract's pydantic models, nothing of the server.

    from service.client import Client

    with Client("https://audit.example.com", api_key="...") as client:
        job = client.submit(request, idempotency_key="ci-run-42")    # schemas.jobs.Job
        job = client.wait(job.id, timeout=3600)                       # events stream, polling as fallback
        card = client.scorecard(job.id)                               # schemas.scorecard.Scorecard
        junit = client.scorecard_text(job.id, "junit")                # json, markdown, junit, html
        signed = client.verify(client.attestation(job.id))            # offline Ed25519 check

`AsyncClient` has the same methods as coroutines. Both take `transport=` (any httpx transport). Errors are
the classes of `schemas.errors`, chosen by the code of the server's error body; an unreachable server is an
`UnavailableError`, a wait past its timeout a `DeadlineExceededError`, a bad signature an
`InvalidEnvelopeError`. This package imports httpx, pydantic, cryptography, `schemas` and the envelope code of
`service.signing`, so `pip install unlearn-audit` (no extras) is enough to use it.
"""

from service.client.async_client import AsyncClient
from service.client.calls import DEFAULT_SERVER, ScorecardFormat
from service.client.errors import error_from_response
from service.client.sse import JobEvent
from service.client.sync import Client
from service.client.verify import public_keys_of, verify_attestation

__all__ = [
    "DEFAULT_SERVER",
    "AsyncClient",
    "Client",
    "JobEvent",
    "ScorecardFormat",
    "error_from_response",
    "public_keys_of",
    "verify_attestation",
]
