"""Redirects from an allowed endpoint: followed only to hosts the operator allows, refused (url_not_allowed, not
retried) otherwise, and the refused target never reached. Real servers on 127.0.0.1: a TGI-protocol server
behind a redirecting front, and a recorder standing in for the forbidden target (the allowlist pins the
allowed server's port, so the recorder's port on the same address is not allowed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from evaluators.models import GenerationRequest, LoglikelihoodRequest
from evaluators.models.http_retry import RetryPolicy
from evaluators.models.tgi import TGIModel
from evaluators.net import OutboundPolicy, checked_async_client
from schemas.errors import URLNotAllowedError
from service.errors import status_of
from tests.security.outbound_servers import Recorder, Redirecting, port_of
from tests.support.servers import FaultPlan, serve, tgi_app

METADATA = "http://169.254.169.254/latest/meta-data/"
FAST = RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=20.0, concurrency=2)
# Everything but /info redirects: generation (huggingface_hub's client) and /tokenize, chat (ours).
REDIRECTED = frozenset({"/", "/generate", "/tokenize", "/v1/chat/completions"})


@pytest.fixture
def forbidden() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve(recorder) as running:
        yield running.url, recorder


async def _refused_everywhere(tgi: TGIModel, front: Redirecting, target: str) -> None:
    fingerprint = await tgi.fingerprint()  # /info is not redirected: the endpoint itself is reachable
    assert fingerprint.fingerprint.startswith("tiny/llama-test")
    with pytest.raises(URLNotAllowedError, match=target) as refused:
        await tgi.generate([GenerationRequest("Water boils at", max_new_tokens=2, chat=False)])
    assert refused.value.code == "url_not_allowed" and status_of(type(refused.value)) == 403
    with pytest.raises(URLNotAllowedError, match="redirected to"):
        await tgi.loglikelihood([LoglikelihoodRequest("Water boils at", " one hundred")])
    with pytest.raises(URLNotAllowedError, match="redirected to"):
        await tgi.generate([GenerationRequest("Hi", max_new_tokens=2, chat=True)])
    assert len(front.redirected) == 3  # one request per call: a refusal is not retried


async def test_tgi_redirect_to_the_metadata_service_is_refused(tiny_lm: Any) -> None:
    front = Redirecting(METADATA, app=tgi_app(tiny_lm, FaultPlan()), paths=REDIRECTED)
    with serve(front) as running:
        tgi = TGIModel(running.url, policy=FAST, outbound=OutboundPolicy([f"127.0.0.1:{port_of(running.url)}"]))
        try:
            await _refused_everywhere(tgi, front, r"169\.254\.169\.254")
        finally:
            await tgi.close()


async def test_tgi_redirect_to_a_host_not_allowed_never_reaches_it(
    tiny_lm: Any, forbidden: tuple[str, Recorder]
) -> None:
    target, recorder = forbidden
    front = Redirecting(target + "/latest/meta-data/", app=tgi_app(tiny_lm, FaultPlan()), paths=REDIRECTED)
    with serve(front) as running:
        tgi = TGIModel(running.url, policy=FAST)  # by default: the endpoint's own host and port only
        try:
            await _refused_everywhere(tgi, front, "is not allowed")
        finally:
            await tgi.close()
    assert recorder.requests == []


@pytest.mark.parametrize("status", [301, 303, 307, 308])
async def test_every_redirect_status_is_checked(status: int, forbidden: tuple[str, Recorder]) -> None:
    target, recorder = forbidden
    front = Redirecting(target + "/x", status=status)
    with serve(front) as running:
        async with checked_async_client(OutboundPolicy([f"127.0.0.1:{port_of(running.url)}"])) as client:
            with pytest.raises(URLNotAllowedError, match="redirected to"):
                await client.post(running.url + "/hook", content=b"{}")
    assert recorder.requests == []


async def test_our_client_follows_only_when_asked_and_only_to_allowed_hosts(forbidden: tuple[str, Recorder]) -> None:
    target, recorder = forbidden
    front = Redirecting(target + "/moved")
    with serve(front) as running:
        both = OutboundPolicy([f"127.0.0.1:{port_of(running.url)}", f"127.0.0.1:{port_of(target)}"])
        async with checked_async_client(both) as client:
            response = await client.get(running.url + "/old")
            assert response.status_code == 302 and recorder.requests == []  # not followed by default
        async with checked_async_client(both, follow_redirects=True) as client:
            response = await client.get(running.url + "/old")
            assert response.status_code == 200 and [r.path for r in recorder.requests] == ["/moved"]


async def test_relative_and_scheme_relative_locations_are_checked(forbidden: tuple[str, Recorder]) -> None:
    target, recorder = forbidden
    front = Redirecting("//" + target.split("//", 1)[1] + "/x")
    with serve(front) as running:
        async with checked_async_client(OutboundPolicy([f"127.0.0.1:{port_of(running.url)}"])) as client:
            with pytest.raises(URLNotAllowedError, match="redirected to"):
                await client.get(running.url + "/")
    assert recorder.requests == []
