"""DNS rebinding: a name that resolves to an allowed address when checked and to a forbidden one when connected.

The transport resolves again at connect time with the policy's resolver and connects to the address it checked,
so the second answer is refused and nothing connects. The resolver is injected (ScriptedDNS); the "forbidden"
address in the `*` cases is 127.0.0.1, where a recorder listens, to prove no connection was made."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from evaluators.allowlist import check_url
from evaluators.net import OutboundPolicy, checked_async_client
from evaluators.net.hub import hub_client
from schemas.errors import URLNotAllowedError
from tests.security.outbound_servers import Recorder, ScriptedDNS, port_of
from tests.support.servers import serve

PUBLIC = "93.184.216.34"


@pytest.fixture
def recorder() -> Iterator[tuple[int, Recorder]]:
    app = Recorder()
    with serve(app) as running:
        yield port_of(running.url), app


async def test_rebinding_to_the_metadata_address_is_refused_at_connect_time(recorder: tuple[int, Recorder]) -> None:
    port, _ = recorder
    url = f"http://models.example.com:{port}/v1/completions"
    dns = ScriptedDNS({"models.example.com": [[PUBLIC], ["169.254.169.254"]]})
    assert check_url(url, ["models.example.com"], resolve=dns) == url  # the check at submit time passes
    async with checked_async_client(OutboundPolicy(["models.example.com"], resolve=dns)) as client:
        with pytest.raises(URLNotAllowedError, match=r"link-local or metadata address 169\.254\.169\.254"):
            await client.post(url, json={})
    assert dns.lookups == ["models.example.com", "models.example.com"]


async def test_rebinding_a_wildcard_host_to_a_private_address_never_connects(recorder: tuple[int, Recorder]) -> None:
    port, app = recorder
    url = f"http://api.example.com:{port}/v1"
    dns = ScriptedDNS({"api.example.com": [[PUBLIC], ["127.0.0.1"]]})
    assert check_url(url, ["*"], resolve=dns) == url
    async with checked_async_client(OutboundPolicy(["*"], resolve=dns)) as client:
        with pytest.raises(URLNotAllowedError, match=r"non-public address 127\.0\.0\.1"):
            await client.get(url)
    assert app.requests == []


def test_rebinding_is_refused_by_the_hub_client_too(recorder: tuple[int, Recorder]) -> None:
    port, app = recorder
    dns = ScriptedDNS({"cdn.example.com": [[PUBLIC], ["::ffff:127.0.0.1"]]})
    assert check_url(f"http://cdn.example.com:{port}/", ["*"], resolve=dns)
    with hub_client(OutboundPolicy(["*"], resolve=dns)) as client:
        with pytest.raises(URLNotAllowedError, match="non-public"):
            client.get(f"http://cdn.example.com:{port}/file")
    assert app.requests == []


@pytest.mark.parametrize(
    ("allowed", "answer", "reason"),
    [
        (["models.example.com"], ["127.0.0.1", "169.254.169.254"], "link-local or metadata"),
        (["*"], ["127.0.0.1", PUBLIC], "non-public"),
        (["*"], [PUBLIC, "10.0.0.1"], "non-public"),
    ],
)
async def test_one_bad_address_among_good_ones_refuses_the_host(
    recorder: tuple[int, Recorder], allowed: list[str], answer: list[str], reason: str
) -> None:
    port, app = recorder
    host = "models.example.com"
    policy = OutboundPolicy(allowed, resolve=ScriptedDNS({host: [answer]}))
    async with checked_async_client(policy) as client:
        with pytest.raises(URLNotAllowedError, match=reason):
            await client.get(f"http://{host}:{port}/")
    assert app.requests == []


async def test_the_connection_goes_to_the_checked_address_with_the_original_host(
    recorder: tuple[int, Recorder],
) -> None:
    port, app = recorder
    dns = ScriptedDNS({"models.example.com": [["127.0.0.1"]]})
    async with checked_async_client(OutboundPolicy(["models.example.com"], resolve=dns)) as client:
        response = await client.get(f"http://models.example.com:{port}/v1/models")
    assert response.status_code == 200
    assert [(r.path, r.headers["host"]) for r in app.requests] == [("/v1/models", f"models.example.com:{port}")]


async def test_an_unresolvable_name_is_a_connection_error_not_a_refusal() -> None:
    policy = OutboundPolicy(["gone.example.com"], resolve=ScriptedDNS({}))
    async with checked_async_client(policy) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get("http://gone.example.com/")
