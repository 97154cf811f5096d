"""Audit profiles: matching, templates, unsafe event values, the admin API, and unmatched events recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.store import SqlJobStore
from service.webhooks import ProfileError, ProfileFile, ProfileSet, RegistryEvent, build_request
from service.webhooks.stored import StoredProfiles
from tests.reports.server import asgi_client
from tests.webhooks import payloads as p
from tests.webhooks.app import PROFILES, SECRETS, webhook_app, webhook_settings

ADMIN = {"Authorization": "Bearer admin-key"}
PROFILE_LIST: list[dict[str, Any]] = PROFILES["profiles"]


def _event(model: str, revision: str = "") -> RegistryEvent:
    return RegistryEvent(
        registry="huggingface", event="repo.content.update", model=model, dedupe_key="k", revision=revision
    )


def test_first_matching_profile_builds_the_request(tmp_path: Path) -> None:
    webhook_settings(tmp_path)
    file = ProfileFile(tmp_path / "p.yaml")
    assert yaml.safe_load((tmp_path / "p.yaml").read_text())["profiles"][0]["name"] == "hf-unlearned"
    profile = file.match(_event("acme/mistral-unlearned", revision="f" * 40))
    assert profile is not None and profile.name == "hf-unlearned"
    assert file.match(_event("other/model")) is None
    request = build_request(profile, _event("acme/mistral-unlearned", revision="f" * 40))
    assert request.target.kind == "checkpoint" and request.target.path == "acme/mistral-unlearned/" + "f" * 40


@pytest.mark.parametrize("model", ["acme/../../etc-unlearned", "acme/x y-unlearned", "acme/$(id)-unlearned"])
def test_unsafe_event_values_never_reach_a_target(tmp_path: Path, model: str) -> None:
    webhook_settings(tmp_path)
    profile = ProfileFile(tmp_path / "p.yaml").match(_event(model))
    assert profile is not None
    with pytest.raises(ProfileError, match="not allowed"):
        build_request(profile, _event(model))


async def test_admin_api_lists_and_replaces_profiles(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path, api_keys="admin-key:admin,reader:read")
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        assert (await client.get("/v1/webhooks/profiles")).status_code == 401
        assert (
            await client.get("/v1/webhooks/profiles", headers={"Authorization": "Bearer reader"})
        ).status_code == 403
        listed = await client.get("/v1/webhooks/profiles", headers=ADMIN)
        assert listed.status_code == 200 and [x["name"] for x in listed.json()["profiles"]] == [
            x["name"] for x in PROFILE_LIST
        ]
        bad = {"profiles": [{**PROFILE_LIST[0], "target": {"kind": "checkpoint", "path": "/m/{sha}"}}]}
        resp = await client.put("/v1/webhooks/profiles", json=bad, headers=ADMIN)
        assert resp.status_code == 422 and "{sha}" in resp.json()["error"]["message"]
        assert resp.json()["error"]["field"] == "profiles.0"
        unknown_kind = {"profiles": [{**PROFILE_LIST[0], "target": {"kind": "ftp"}}]}
        assert (await client.put("/v1/webhooks/profiles", json=unknown_kind, headers=ADMIN)).status_code == 422
        only_one = {"profiles": [PROFILE_LIST[1]]}
        resp = await client.put("/v1/webhooks/profiles", json=only_one, headers=ADMIN)
        assert resp.status_code == 200
        listed = await client.get("/v1/webhooks/profiles", headers=ADMIN)
        assert [x["name"] for x in listed.json()["profiles"]] == ["mlflow-unlearned"]
        # Saved in the database: the imported file stays as the operator wrote it.
        on_disk = yaml.safe_load((tmp_path / "p.yaml").read_text())
        assert [x["name"] for x in on_disk["profiles"]] == [x["name"] for x in PROFILE_LIST]

        # The Hugging Face profile is gone: its event is recorded and ignored.
        body = json.dumps(p.hf_payload()).encode()
        resp = await client.post(
            "/v1/webhooks/huggingface",
            content=body,
            headers={"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"},
        )
        assert resp.status_code == 202 and resp.json()["status"] == "ignored"
        assert "no audit profile matches" in resp.json()["reason"]
        events = (await client.get("/v1/webhooks/events", headers=ADMIN)).json()["items"]
    assert len(events) == 1 and events[0]["status"] == "no_profile" and events[0]["registry"] == "huggingface"
    assert events[0]["job_id"] is None and events[0]["model"] == "acme/llama-unlearned"
    assert (await sqlite_store.list_jobs()).items == []


async def test_event_ignored_for_lack_of_profile_runs_once_a_profile_exists(
    sqlite_store: SqlJobStore, tmp_path: Path
) -> None:
    settings = webhook_settings(tmp_path)
    ProfileFile(tmp_path / "p.yaml").save(ProfileFile(tmp_path / "none.yaml").load())  # no profiles
    body = json.dumps(p.hf_payload()).encode()
    headers = {"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"}
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        first = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
        assert first.json()["status"] == "ignored"
        await StoredProfiles.from_settings(settings).save(sqlite_store, ProfileSet.model_validate(PROFILES))
        retried = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
        assert retried.status_code == 202 and retried.json()["status"] == "submitted"


async def test_jobs_a_profile_starts_belong_to_its_team(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    profiles = yaml.safe_load((tmp_path / "p.yaml").read_text())
    profiles["profiles"][0]["team"] = "bio"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(profiles))
    body = json.dumps(p.hf_payload()).encode()
    headers = {"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"}
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        resp = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
    assert resp.status_code == 202, resp.text
    job = await sqlite_store.get_job(resp.json()["job_id"])
    assert job is not None and job.team == "bio"


async def test_a_profile_may_ask_for_an_audit_per_event(sqlite_store: SqlJobStore, tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    profiles = yaml.safe_load((tmp_path / "p.yaml").read_text())
    mlflow = next(x for x in profiles["profiles"] if x["registry"] == "mlflow")
    mlflow["audit_per"] = "event"
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(profiles))
    secret = SECRETS["mlflow_webhook_secret"]
    created = p.mlflow_body(name="llama-unlearned", version="3")
    alias = p.mlflow_body("model_version_alias", "created", name="llama-unlearned", alias="prod", version="3")
    async with asgi_client(webhook_app(sqlite_store, settings)) as client:
        first_headers = p.mlflow_headers(secret, created)
        first = await client.post("/v1/webhooks/mlflow", content=created, headers=first_headers)
        retried = await client.post("/v1/webhooks/mlflow", content=created, headers=first_headers)
        second = await client.post("/v1/webhooks/mlflow", content=alias, headers=p.mlflow_headers(secret, alias))
    assert (first.status_code, retried.status_code, second.status_code) == (202, 200, 202)
    assert retried.json()["job_id"] == first.json()["job_id"] != second.json()["job_id"]  # a retry is still one
