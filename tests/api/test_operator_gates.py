"""What only the operator decides: which secrets a request may name, and whether checkpoints may run their
own code or load pickle weights (also needing a key with the `unsafe` scope). Checked at submit, before
anything is queued, for API requests, profiles and webhook-made jobs alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import serve_in_loop, valid_request
from tests.webhooks import payloads as p

KEYS = "sub:submit+read,risky:submit+read+unsafe,root:admin,root-unsafe:admin+unsafe"
HF_SECRET = "hf-secret"


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _checkpoint(root: Path, name: str, *, weights: str = "model.safetensors", auto_map: bool = False) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / weights).write_bytes(b"\0" * 8)
    config: dict[str, Any] = {"model_type": "llama"}
    if auto_map:
        config["auto_map"] = {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}
        (path / "modeling_x.py").write_text("raise SystemExit('would run on load')\n")
    (path / "config.json").write_text(json.dumps(config))
    return path


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "api_keys": KEYS,
        "model_roots": str(tmp_path / "models"),
        "endpoint_secrets": "VLLM_TOKEN,JUDGE_TOKEN",
        "hf_webhook_secret": HF_SECRET,
        "webhook_profiles_file": tmp_path / "profiles.yaml",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    _checkpoint(root, "plain")
    _checkpoint(root, "custom-code", auto_map=True)
    _checkpoint(root, "pickled", weights="pytorch_model.bin")
    linked = _checkpoint(root, "linked-out")
    (linked / "model.safetensors").unlink()
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(b"\0" * 8)
    (linked / "model.safetensors").symlink_to(outside)
    return root


@pytest.fixture
async def make_client(tmp_path: Path, sqlite_store: SqlJobStore, models: Path) -> AsyncIterator[Any]:
    opened: list[Any] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        context = serve_in_loop(create_app(_settings(tmp_path, **overrides), sqlite_store))
        opened.append(context)
        return await context.__aenter__()

    yield make
    for context in opened:
        await context.__aexit__(None, None, None)


REMOTE_CODE_PROFILE: dict[str, Any] = {
    "name": "custom",
    "registry": "huggingface",
    "model": "acme/*",
    "target": {"kind": "checkpoint", "path": "custom-code", "trust_remote_code": True},
    "checks": valid_request()["checks"],
}
"""A profile whose audits run the checkpoint's own code."""


def _openai(**extra: Any) -> dict[str, Any]:
    return {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", **extra}


async def test_api_key_env_must_be_on_the_operators_list(make_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = await make_client()
    monkeypatch.setenv("SOME_SET_VARIABLE", "value")
    refused = {}
    for name in ("UNLEARN_AUDIT_API_KEYS", "SOME_SET_VARIABLE", "NEVER_SET_ANYWHERE"):
        for where, body in (
            ("target", valid_request(target=_openai(api_key_env=name))),
            ("baseline", valid_request(baseline={"kind": "tgi", "url": "http://127.0.0.1:9", "api_key_env": name})),
            (
                "checks.refusal.judge.target",
                valid_request(
                    checks={
                        "refusal": {
                            "harmful": {"items": [{"prompt": "p"}]},
                            "judge": {"kind": "model", "target": _openai(api_key_env=name)},
                        }
                    }
                ),
            ),
        ):
            resp = await client.post("/v1/evaluations", json=body, headers=_as("root"))
            assert resp.status_code == 403, (name, where, resp.text)
            error = resp.json()["error"]
            assert error["code"] == "secret_not_allowed" and error["field"] == f"{where}.api_key_env"
            refused[name] = error["message"].replace(name, "NAME")
    # The answer is the same whether the variable is set, unset or the service's own: no oracle, no values.
    assert len(set(refused.values())) == 1 and "value" not in next(iter(refused.values()))
    listed = await client.post(
        "/v1/evaluations", json=valid_request(target=_openai(api_key_env="VLLM_TOKEN")), headers=_as("sub")
    )
    assert listed.status_code == 202  # whether it is set is the worker's business, when the job runs


def test_the_services_own_settings_can_never_be_listed(tmp_path: Path) -> None:
    for names in ("UNLEARN_AUDIT_API_KEYS", "X,unlearn_audit_callback_secret", "NOT A NAME"):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, endpoint_secrets=names)
    assert Settings(data_dir=tmp_path, endpoint_secrets=" A , B ").endpoint_secret_names() == {"A", "B"}


async def test_remote_code_and_pickle_are_operator_decisions_and_need_the_unsafe_scope(make_client: Any) -> None:
    custom = valid_request(target={"kind": "checkpoint", "path": "custom-code", "trust_remote_code": True})
    pickled = valid_request(target={"kind": "checkpoint", "path": "pickled", "allow_pickle": True})
    off = await make_client()
    for body, setting in ((custom, "UNLEARN_AUDIT_ALLOW_REMOTE_CODE"), (pickled, "UNLEARN_AUDIT_ALLOW_PICKLE")):
        resp = await off.post("/v1/evaluations", json=body, headers=_as("root-unsafe"))
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "unsafe_not_allowed"
        assert setting in resp.json()["error"]["message"]
    on = await make_client(allow_remote_code=True, allow_pickle=True)
    for body in (custom, pickled):
        for key in ("sub", "root"):  # admin does not imply `unsafe`
            resp = await on.post("/v1/evaluations", json=body, headers=_as(key))
            assert resp.status_code == 403 and "`unsafe` scope" in resp.json()["error"]["message"], key
        assert (await on.post("/v1/evaluations", json=body, headers=_as("risky"))).status_code == 202


@pytest.mark.parametrize(
    ("path", "status", "code", "words"),
    [
        ("custom-code", 422, "unsafe_model", "modeling_x.py"),  # auto_map without trust_remote_code
        ("pickled", 422, "unsafe_model", "pickle"),  # pickle-only without allow_pickle
        ("linked-out", 422, "unsafe_model", "links outside"),  # a weight file linked out of the root
        ("plain", 202, None, None),
    ],
)
async def test_checkpoints_are_inspected_at_submit(
    make_client: Any, path: str, status: int, code: str | None, words: str | None
) -> None:
    client = await make_client(allow_remote_code=True, allow_pickle=True)
    resp = await client.post(
        "/v1/evaluations", json=valid_request(target={"kind": "checkpoint", "path": path}), headers=_as("risky")
    )
    assert resp.status_code == status, resp.text
    if code is not None:
        assert resp.json()["error"]["code"] == code and words in resp.json()["error"]["message"]
        assert resp.json()["error"]["field"].startswith("target")


async def test_profiles_that_need_unsafe_are_saved_only_by_an_unsafe_key(make_client: Any) -> None:
    client = await make_client(allow_remote_code=True)
    profile = REMOTE_CODE_PROFILE
    refused = await client.put("/v1/webhooks/profiles", json={"profiles": [profile]}, headers=_as("root"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "unsafe_not_allowed"
    saved = await client.put("/v1/webhooks/profiles", json={"profiles": [profile]}, headers=_as("root-unsafe"))
    assert saved.status_code == 200
    secret = {**profile, "name": "secret", "target": _openai(api_key_env="HOME")}
    resp = await client.put("/v1/webhooks/profiles", json={"profiles": [secret]}, headers=_as("root-unsafe"))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "secret_not_allowed"


async def test_webhook_made_jobs_pass_the_same_submit_checks(
    make_client: Any, tmp_path: Path, sqlite_store: SqlJobStore
) -> None:
    # A profile written by hand that the deployment's settings refuse: the event is refused like an API
    # submit (403), recorded, and nothing is queued.
    profile = REMOTE_CODE_PROFILE
    (tmp_path / "profiles.yaml").write_text(json.dumps({"profiles": [profile]}))
    client = await make_client()  # remote code off
    body = json.dumps(p.hf_payload()).encode()
    headers = {"X-Webhook-Secret": HF_SECRET, "Content-Type": "application/json"}
    resp = await client.post("/v1/webhooks/huggingface", content=body, headers=headers)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "unsafe_not_allowed"
    assert (await sqlite_store.list_jobs()).items == []
    events = (await client.get("/v1/webhooks/events", headers=_as("root"))).json()["items"]
    assert events[0]["status"] == "invalid_profile" and "unsafe_not_allowed" in events[0]["detail"]
