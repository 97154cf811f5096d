"""Audit profiles in the database: two API replicas (two data directories on one PostgreSQL) see each other's
edits; the profiles file is imported once per content at start; `webhooks import|export` copy a file in and out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from service.app import create_app
from service.cli.webhooks import webhooks_command
from service.settings import Settings
from service.store import SqlJobStore
from service.webhooks.profiles import ProfileSet
from service.webhooks.stored import import_profiles_on_start
from tests.reports.server import asgi_client
from tests.webhooks import payloads as p
from tests.webhooks.app import PROFILES, SECRETS, webhook_settings

pytestmark = pytest.mark.postgres

ADMIN = {"Authorization": "Bearer admin-key"}
HF_HEADERS = {"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"}
NAMES = [x["name"] for x in PROFILES["profiles"]]


@pytest.fixture
async def replica_2_store(pg_database_url: str, pg_store: SqlJobStore) -> AsyncIterator[SqlJobStore]:
    store = SqlJobStore(pg_database_url)
    try:
        yield store
    finally:
        await store.close()


def _replica(tmp_path: Path, name: str, url: str, *, with_file: bool) -> Settings:
    settings = webhook_settings(tmp_path / name, database_url=url, api_keys="admin-key:admin")
    if not with_file:
        (tmp_path / name / "p.yaml").unlink()
    return settings


async def _names(client: object) -> list[str]:
    resp = await client.get("/v1/webhooks/profiles", headers=ADMIN)  # type: ignore[attr-defined]
    assert resp.status_code == 200
    return [x["name"] for x in resp.json()["profiles"]]


async def test_a_profile_saved_through_one_replica_is_used_by_the_other(
    tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore, replica_2_store: SqlJobStore
) -> None:
    one = create_app(_replica(tmp_path, "replica-1", pg_database_url, with_file=True), store=pg_store)
    two = create_app(_replica(tmp_path, "replica-2", pg_database_url, with_file=False), store=replica_2_store)
    async with import_profiles_on_start(one):  # replica 1 starts with the operator's profiles file
        pass
    body = json.dumps(p.hf_payload()).encode()
    async with asgi_client(one) as client_1, asgi_client(two) as client_2:
        assert await _names(client_2) == NAMES  # replica 2 has no file: it reads the database
        only_mlflow = {"profiles": [x for x in PROFILES["profiles"] if x["registry"] == "mlflow"]}
        assert (await client_2.put("/v1/webhooks/profiles", json=only_mlflow, headers=ADMIN)).status_code == 200
        assert await _names(client_1) == ["mlflow-unlearned"]
        ignored = await client_1.post("/v1/webhooks/huggingface", content=body, headers=HF_HEADERS)
        assert ignored.json()["status"] == "ignored"
        assert (await client_1.put("/v1/webhooks/profiles", json=PROFILES, headers=ADMIN)).status_code == 200
        submitted = await client_2.post("/v1/webhooks/huggingface", content=body, headers=HF_HEADERS)
    assert submitted.status_code == 202 and submitted.json()["profile"] == "hf-unlearned"
    job = await pg_store.get_job(submitted.json()["job_id"])
    assert job is not None and job.labels["webhook.profile"] == "hf-unlearned"


async def test_the_profiles_file_is_imported_once_per_content(
    tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore
) -> None:
    settings = _replica(tmp_path, "replica-1", pg_database_url, with_file=True)
    async with import_profiles_on_start(create_app(settings, store=pg_store)):
        pass
    assert [x["name"] for x in await pg_store.webhook_profiles.load()] == NAMES
    await pg_store.webhook_profiles.replace([PROFILES["profiles"][0]])  # an edit through the API
    async with import_profiles_on_start(create_app(settings, store=pg_store)):  # a restart, same file
        pass
    assert [x["name"] for x in await pg_store.webhook_profiles.load()] == [NAMES[0]]
    changed = {"profiles": PROFILES["profiles"][1:3]}
    (tmp_path / "replica-1" / "p.yaml").write_text(yaml.safe_dump(changed))  # the operator edits the file
    async with import_profiles_on_start(create_app(settings, store=pg_store)):
        pass
    assert [x["name"] for x in await pg_store.webhook_profiles.load()] == NAMES[1:3]


async def test_import_and_export_commands(tmp_path: Path, pg_database_url: str, pg_store: SqlJobStore) -> None:
    settings = _replica(tmp_path, "replica-1", pg_database_url, with_file=False)
    source = tmp_path / "profiles.json"
    source.write_text(json.dumps({"profiles": PROFILES["profiles"][:2]}))
    assert await asyncio.to_thread(webhooks_command, "import", str(source), settings) == 0
    exported = tmp_path / "exported.yaml"
    assert await asyncio.to_thread(webhooks_command, "export", str(exported), settings) == 0
    expected = ProfileSet.model_validate({"profiles": PROFILES["profiles"][:2]})
    assert ProfileSet.model_validate(yaml.safe_load(exported.read_text())) == expected
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"profiles": [PROFILES["profiles"][0], PROFILES["profiles"][0]]}))
    assert await asyncio.to_thread(webhooks_command, "import", str(bad), settings) == 2  # duplicate names
    assert [x["name"] for x in await pg_store.webhook_profiles.load()] == NAMES[:2]
