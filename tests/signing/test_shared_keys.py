"""Signing keys every machine shares: two data directories stand for two machines on one PostgreSQL.

A worker "on machine 2" signs, the API "on machine 1" publishes the keys that verify it; `keys rotate` gives
a new key whose scorecards verify next to the old ones; keys each data directory made on its own are imported
so what they signed still verifies; a mounted key file is checked for loose permissions.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from schemas.errors import ConfigurationError
from service.app import create_app
from service.cli.keys import keys_command
from service.settings import Settings
from service.signing import KeyStore, SigningKeys, key_id, verify_main
from service.store import SqlJobStore
from tests.reports.scorecards import build_scorecard
from tests.reports.server import asgi_client, seed_finished_job

pytestmark = pytest.mark.postgres


@pytest.fixture
async def machine_2_store(pg_database_url: str, pg_store: SqlJobStore) -> AsyncIterator[SqlJobStore]:
    """Machine 2's own connection pool on the database machine 1 (`pg_store`) uses."""
    store = SqlJobStore(pg_database_url)
    try:
        yield store
    finally:
        await store.close()


def _machine(tmp_path: Path, name: str, url: str, **kw: Any) -> Settings:
    return Settings(data_dir=tmp_path / name, database_url=url, **kw)


async def _listing(settings: Settings, store: SqlJobStore) -> dict[str, Any]:
    """GET /v1/signing-keys from machine 1's API."""
    async with asgi_client(create_app(settings, store=store)) as client:
        resp = await client.get("/v1/signing-keys")
    assert resp.status_code == 200
    listing: dict[str, Any] = resp.json()
    return listing


def _verifies(envelope: dict[str, Any], listing: dict[str, Any], tmp_path: Path) -> bool:
    """`unlearn-audit verify` with the keys machine 1 published."""
    card, keys = tmp_path / "card.json", tmp_path / "keys.json"
    card.write_text(json.dumps(envelope))
    keys.write_text(json.dumps(listing))
    return verify_main([str(card), "--key", str(keys)]) == 0


async def test_a_worker_signs_the_api_verifies_across_a_rotation(
    tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore, machine_2_store: SqlJobStore
) -> None:
    api = _machine(tmp_path, "machine-1", pg_database_url)
    worker = _machine(tmp_path, "machine-2", pg_database_url)
    # Before the keys were shared, each data directory signed with a key of its own.
    legacy_1 = KeyStore.under(api.data_dir).sign(build_scorecard())
    legacy_2 = KeyStore.under(worker.data_dir).sign(build_scorecard())
    first_listing = await _listing(api, pg_store)  # machine 1's own key becomes the shared one
    worker_keys = SigningKeys.from_settings(worker)
    card = await seed_finished_job(machine_2_store)
    before = await worker_keys.sign(machine_2_store, card)
    assert before["signatures"][0]["keyid"] == legacy_1["signatures"][0]["keyid"] == first_listing["keys"][0]["keyid"]

    # The attestation route on machine 1 signs with the same key the worker used.
    async with asgi_client(create_app(api, store=pg_store)) as client:
        attested = (await client.get(f"/v1/evaluations/{card.evaluation_id}/attestation")).json()
    assert attested["signatures"][0]["keyid"] == before["signatures"][0]["keyid"]

    assert await asyncio.to_thread(keys_command, "rotate", api) == 0
    after = await worker_keys.sign(machine_2_store, card)  # the running worker picks the new key up
    assert after["signatures"][0]["keyid"] != before["signatures"][0]["keyid"]

    listing = await _listing(api, pg_store)
    statuses = {k["keyid"]: k["status"] for k in listing["keys"]}
    assert statuses[after["signatures"][0]["keyid"]] == "active"
    assert statuses[before["signatures"][0]["keyid"]] == "retired"
    assert statuses[legacy_2["signatures"][0]["keyid"]] == "retired"  # machine 2's own key, imported
    assert list(statuses.values()).count("active") == 1 and len(statuses) == 3
    for envelope in (legacy_1, legacy_2, before, after, attested):
        assert _verifies(envelope, listing, tmp_path)
    stored = {k.keyid: k for k in await pg_store.signing_keys.list()}
    assert [k for k in stored.values() if k.private_key_pem] == [stored[after["signatures"][0]["keyid"]]]


def _write_key(path: Path, key: Ed25519PrivateKey, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_bytes(pem)
    os.chmod(path, mode)


async def test_a_mounted_key_file_signs_on_every_machine(
    tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore, machine_2_store: SqlJobStore
) -> None:
    secret = tmp_path / "secret" / "signing-key.pem"
    first = Ed25519PrivateKey.generate()
    _write_key(secret, first, 0o644)
    api = _machine(tmp_path, "machine-1", pg_database_url, signing_key_file=secret)
    worker = _machine(tmp_path, "machine-2", pg_database_url, signing_key_file=secret)
    worker_keys = SigningKeys.from_settings(worker)
    card = build_scorecard()
    with pytest.raises(ConfigurationError, match="mode 0644"):
        await worker_keys.sign(machine_2_store, card)
    os.chmod(secret, 0o440)  # group-readable: a secret volume with an fsGroup
    signed = await worker_keys.sign(machine_2_store, card)
    assert signed["signatures"][0]["keyid"] == key_id(first.public_key())
    assert await asyncio.to_thread(keys_command, "rotate", api) == 2  # rotate by replacing the secret
    assert all(k.private_key_pem is None for k in await pg_store.signing_keys.list())  # never in the database

    _write_key(secret, Ed25519PrivateKey.generate(), 0o400)  # the operator mounts a new key
    resigned = await worker_keys.sign(machine_2_store, card)
    assert resigned["signatures"][0]["keyid"] != signed["signatures"][0]["keyid"]
    listing = await _listing(api, pg_store)
    assert [k["status"] for k in listing["keys"]] == ["active", "retired"]
    assert _verifies(signed, listing, tmp_path) and _verifies(resigned, listing, tmp_path)


async def test_concurrent_first_uses_agree_on_one_key(
    tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore, machine_2_store: SqlJobStore
) -> None:
    machines = [SigningKeys.from_settings(_machine(tmp_path, f"m{i}", pg_database_url)) for i in range(4)]
    stores = [pg_store, machine_2_store, pg_store, machine_2_store]
    envelopes = await asyncio.gather(*(k.sign(s, build_scorecard()) for k, s in zip(machines, stores, strict=True)))
    assert len({e["signatures"][0]["keyid"] for e in envelopes}) == 1
    assert len(await pg_store.signing_keys.list()) == 1
