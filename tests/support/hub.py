"""Shared test fixtures: a local Hugging Face Hub (tests/support/servers/hub).

- `hub`: a fresh, empty fake Hub and its CDN, running for one test (a `RunningHub`). Add repositories with
  `hub.state.add(HubRepo.from_directory(path, "org/name"))` and users with `hub.state.add_user("alice")` (which
  returns the bearer token); pass `endpoint=hub.url` and `token=` to huggingface_hub, or use `hub.api(token)`.
  Pass `token=False` for an anonymous call: with no token, huggingface_hub sends the machine's own (HF_TOKEN or
  the stored one), which the fake Hub refuses as unknown (401).
- `hub_as_default`: the same Hub made huggingface_hub's default endpoint for the test (what `HF_ENDPOINT` does at
  import), for library functions that take no `endpoint=` (`metadata_update`, `RepoCard.load`, the module-level
  `upload_file`…); the default cache is a temporary folder. Prefer `endpoint=` where the function has one.

huggingface_hub's shared HTTP client is closed after each test, so that no connection to a stopped server is
kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: tests.support.servers imports torch, which no other test should wait for
    from tests.support.servers.hub import RunningHub


def _default_clients() -> None:
    """huggingface_hub's own client factories: an app or worker a test built installs checked ones for the
    whole process (`evaluators.net.configure_hub`), which must not leak into the next test."""
    from huggingface_hub.utils import set_async_client_factory, set_client_factory
    from huggingface_hub.utils._http import default_async_client_factory, default_client_factory

    set_client_factory(default_client_factory)
    set_async_client_factory(default_async_client_factory)


@pytest.fixture
def hub() -> Iterator[RunningHub]:
    from huggingface_hub.utils import close_session

    from tests.support.servers.hub import run_hub

    _default_clients()
    with run_hub() as running:
        try:
            yield running
        finally:
            close_session()  # before the servers stop: no pooled connection outlives them
            _default_clients()


@pytest.fixture
def hub_as_default(hub: RunningHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunningHub:
    from huggingface_hub import constants, hf_api

    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    # The HfApi behind the module-level functions (upload_file, create_commit…) read the endpoint at import.
    monkeypatch.setattr(hf_api.api, "endpoint", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-default-cache"))
    return hub
