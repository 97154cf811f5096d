"""huggingface_hub's own clients after configure_hub: redirects followed to allowed hosts only, hooks kept, no
proxy, Xet off. Real servers on 127.0.0.1; the library's process-wide factories are restored after each test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from evaluators.net import OutboundPolicy, configure_hub
from schemas.errors import URLNotAllowedError
from tests.security.outbound_servers import Recorder, Redirecting, port_of
from tests.support.servers import serve


@pytest.fixture(autouse=True)
def hub_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whatever a test installs, huggingface_hub's default factories and Xet setting come back afterwards."""
    from huggingface_hub import constants, utils
    from huggingface_hub.utils._http import default_async_client_factory, default_client_factory

    monkeypatch.delenv("HF_HUB_DISABLE_XET", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    yield
    utils.set_client_factory(default_client_factory)  # closes the checked shared client
    utils.set_async_client_factory(default_async_client_factory)


@pytest.fixture
def two_servers() -> Iterator[tuple[str, Recorder, str, Redirecting]]:
    """(target URL, its recorder, front URL, the front redirecting to the target's /file)."""
    recorder = Recorder()
    with serve(recorder) as target:
        front = Redirecting(target.url + "/file")
        with serve(front) as running:
            yield target.url, recorder, running.url, front


def test_hub_session_follows_a_redirect_to_an_allowed_host(two_servers: tuple[str, Recorder, str, Redirecting]) -> None:
    from huggingface_hub.utils import get_session

    target, recorder, front_url, _ = two_servers
    configure_hub(OutboundPolicy([f"127.0.0.1:{port_of(front_url)}", f"127.0.0.1:{port_of(target)}"]))
    response = get_session().get(front_url + "/model/resolve/main/config.json")
    assert response.status_code == 200 and len(response.history) == 1
    assert [r.path for r in recorder.requests] == ["/file"]
    assert "x-amzn-trace-id" in recorder.requests[0].headers  # the library's request hook still runs


def test_hub_session_refuses_a_redirect_to_a_host_not_allowed(
    two_servers: tuple[str, Recorder, str, Redirecting],
) -> None:
    from huggingface_hub.utils import get_session

    _, recorder, front_url, front = two_servers
    configure_hub(OutboundPolicy([f"127.0.0.1:{port_of(front_url)}"]))
    with pytest.raises(URLNotAllowedError, match="redirected to"):
        get_session().get(front_url + "/model/resolve/main/config.json")
    assert recorder.requests == [] and len(front.redirected) == 1


async def test_hub_async_session_follows_allowed_and_refuses_the_rest(
    two_servers: tuple[str, Recorder, str, Redirecting],
) -> None:
    from huggingface_hub.utils import get_async_session

    target, recorder, front_url, _ = two_servers
    configure_hub(OutboundPolicy([f"127.0.0.1:{port_of(front_url)}", f"127.0.0.1:{port_of(target)}"]))
    async with get_async_session() as client:
        assert (await client.get(front_url + "/a")).status_code == 200
    configure_hub(OutboundPolicy([f"127.0.0.1:{port_of(front_url)}"]))  # again, with a narrower policy
    async with get_async_session() as client:
        with pytest.raises(URLNotAllowedError, match="is not allowed"):
            await client.get(front_url + "/b")
    assert [r.path for r in recorder.requests] == ["/file"]


def test_proxy_settings_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would be the host connected to, hiding the destination: checked clients ignore the variables."""
    from huggingface_hub.utils import get_session

    proxy, target = Recorder(), Recorder()
    with serve(proxy) as proxy_server, serve(target) as target_server:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy_server.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        configure_hub(OutboundPolicy([f"127.0.0.1:{port_of(target_server.url)}"]))
        assert get_session().get(target_server.url + "/direct").status_code == 200
    assert [r.path for r in target.requests] == ["/direct"] and proxy.requests == []


def test_configure_hub_turns_xet_off_now_and_for_later_imports() -> None:
    from huggingface_hub import constants
    from huggingface_hub.utils._runtime import is_xet_available

    assert is_xet_available()  # hf_xet is installed here, so it would be used
    configure_hub(OutboundPolicy(["127.0.0.1"]))
    configure_hub(OutboundPolicy(["127.0.0.1"]))  # idempotent
    assert constants.HF_HUB_DISABLE_XET is True and not is_xet_available()
    assert os.environ["HF_HUB_DISABLE_XET"] == "1"
    # huggingface_hub reads the variable at import: a fresh interpreter (a child process) sees it too.
    fresh = subprocess.run(
        [sys.executable, "-c", "from huggingface_hub import constants; print(constants.HF_HUB_DISABLE_XET)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert fresh.stdout.strip() == "True"
