"""Hub targets at submit, against the protocol-faithful Hub: the revision pinned to its commit, and each way
a repository cannot be audited refused before anything is queued, with its own code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import serve_in_loop, valid_request

ADMIN = {"Authorization": "Bearer admin-key"}


@pytest.fixture
def repos(hub: Any, tiny_checkpoint: Path) -> dict[str, str]:
    from tests.support.servers.hub import HubRepo

    plain = hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/tiny"))
    plain.create_tag("v1")
    hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/gated", gated="auto"))
    hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/private", private=True))
    hub.state.add(HubRepo.from_files("acme/no-weights", {"config.json": "{}", "README.md": "# nothing to load"}))
    hub.state.add(HubRepo.from_files("acme/pickled", {"config.json": "{}", "pytorch_model.bin": b"\0" * 64}))
    hub.state.add(HubRepo.from_directory(tiny_checkpoint, "other/tiny"))
    return {"main": plain.branches["main"]}


@pytest.fixture
async def client(hub: Any, sqlite_store: SqlJobStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        api_keys="admin-key:admin",
        hub_endpoint=hub.url,
        hub_repos="acme/*",
        allowed_hosts="127.0.0.1,localhost",
        cache_max_bytes=10 * 1024**2,
    )
    async with serve_in_loop(create_app(settings, sqlite_store)) as c:
        yield c


async def _submit(client: httpx.AsyncClient, **target: Any) -> httpx.Response:
    return await client.post("/v1/evaluations", json=valid_request(target={"kind": "hf", **target}), headers=ADMIN)


async def test_a_revision_is_pinned_to_its_commit_at_submit(client: httpx.AsyncClient, repos: dict[str, str]) -> None:
    for revision in ("main", "v1", repos["main"]):
        resp = await _submit(client, repo="acme/tiny", revision=revision)
        assert resp.status_code == 202, resp.text
        pinned = resp.json()["resolved"]["target"]
        assert pinned["revision"] == repos["main"] and pinned["requested"] == revision
        assert pinned["repo"] == "acme/tiny" and pinned["registry"] == "hf"


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ({"repo": "other/tiny"}, 403, "repo_not_allowed"),
        ({"repo": "acme/missing"}, 422, "model_not_found"),
        ({"repo": "acme/private"}, 422, "model_not_found"),  # the Hub answers as for a missing one
        ({"repo": "acme/tiny", "revision": "no-such-branch"}, 422, "revision_not_found"),
        ({"repo": "acme/gated"}, 403, "model_access_denied"),
        ({"repo": "acme/no-weights"}, 422, "no_loadable_weights"),
        ({"repo": "acme/pickled"}, 422, "unsafe_model"),
        ({"repo": "acme/tiny", "subfolder": "nowhere"}, 422, "no_loadable_weights"),
        ({"repo": "acme/tiny", "api_key_env": "HF_TOKEN"}, 403, "secret_not_allowed"),
    ],
)
async def test_what_cannot_be_fetched_is_refused_with_its_own_code(
    client: httpx.AsyncClient, repos: dict[str, str], target: dict[str, Any], status: int, code: str
) -> None:
    resp = await _submit(client, **target)
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code and error["field"].startswith("target"), error


async def test_gated_messages_say_how_to_get_access(client: httpx.AsyncClient, repos: dict[str, str]) -> None:
    resp = await _submit(client, repo="acme/gated")
    assert "accept its conditions" in resp.json()["error"]["message"]


async def test_write_back_needs_a_registry_target(client: httpx.AsyncClient, repos: dict[str, str]) -> None:
    asked = valid_request(write_back=True)  # a TGI target: nowhere to write back to
    resp = await client.post("/v1/evaluations", json=asked, headers=ADMIN)
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "write_back"
    on_hub = valid_request(target={"kind": "hf", "repo": "acme/tiny", "revision": "main"}, write_back=True)
    resp = await client.post("/v1/evaluations", json=on_hub, headers=ADMIN)
    assert resp.status_code == 202, resp.text
    assert resp.json()["write_back"] == {
        "registry": "hf",
        "endpoint": resp.json()["resolved"]["target"]["endpoint"],
        "repo": "acme/tiny",
        "revision": repos["main"],
        "pr": None,
        "model_card_pr": False,
        "name": None,
        "version": None,
    }
