"""Downloads from the fake Hub through the project's checked transport (`configure_hub`): a redirect to an
allowed CDN is followed, one to a CDN not allowed is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.hub_world import REPO, World


@pytest.fixture
def restore_hub_client() -> Iterator[None]:
    """configure_hub installs process-wide client factories and turns Xet off: both come back afterwards."""
    from huggingface_hub import constants, utils
    from huggingface_hub.utils._http import default_async_client_factory, default_client_factory

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HF_HUB_DISABLE_XET", raising=False)
        patch.setattr(constants, "HF_HUB_DISABLE_XET", False)
        yield
        utils.set_client_factory(default_client_factory)
        utils.set_async_client_factory(default_async_client_factory)


def _host(url: str) -> str:
    return url.split("://", 1)[1]


def test_download_through_the_checked_transport_follows_the_redirect_to_an_allowed_cdn(
    world: World, tmp_path: Path, restore_hub_client: None
) -> None:
    from huggingface_hub import hf_hub_download

    from evaluators.net import OutboundPolicy, configure_hub

    configure_hub(OutboundPolicy([_host(world.hub.url), _host(world.hub.cdn_url)]))
    path = hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_bytes() == world.files["model.safetensors"]
    assert [r.server for r in world.hub.requests] == ["hub", "cdn"]


def test_download_through_the_checked_transport_refuses_a_cdn_not_allowed(
    world: World, tmp_path: Path, restore_hub_client: None
) -> None:
    from huggingface_hub import hf_hub_download

    from evaluators.net import OutboundPolicy, configure_hub
    from schemas.errors import URLNotAllowedError

    configure_hub(OutboundPolicy([_host(world.hub.url)]))
    cache = tmp_path / "cache"
    config = hf_hub_download(REPO, "config.json", endpoint=world.hub.url, cache_dir=cache, token=False)
    assert Path(config).read_bytes() == world.files["config.json"]  # the Hub itself is allowed
    with pytest.raises(URLNotAllowedError, match="localhost"):
        hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=cache, token=False)
    assert not world.hub.requests.select(server="cdn")
    assert not list(cache.rglob("model.safetensors*"))
