"""POST /v1/evaluations?dry_run=true: what a submit would do, the same 4xx as a submit, and nothing stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from sqlalchemy import func, select

from evaluators.cost_model import TINY
from schemas.datasets import BUILTIN_DATASETS
from schemas.dry_run import DryRun
from service.settings import Settings
from service.store import SqlJobStore
from service.store.convert import DATASET_PINS, JOB_EVENTS, JOB_LABELS, JOBS
from tests.api.helpers import bearer, mc_items, valid_request, write_jsonl

Client = httpx.AsyncClient

_ROWS = {"multiple_choice": 9, "prompt": 7, "text": 5}
_KINDS = {
    "forget": "multiple_choice",
    "retain": "multiple_choice",
    "adjacent": "multiple_choice",
    "harmful": "prompt",
    "benign": "prompt",
    "forget_corpus": "text",
    "forget_holdout_corpus": "text",
    "retain_corpus": "text",
}


def _rows(kind: str, n: int) -> list[dict[str, Any]]:
    if kind == "multiple_choice":
        return [{**item, "subject": f"s{i % 3}"} for i, item in enumerate(mc_items(n))]
    if kind == "prompt":
        return [{"prompt": f"request {i}", "variants": [f"rephrased {i}"] if i < 2 else []} for i in range(n)]
    return [{"text": f"passage {i} about things."} for i in range(n)]


@pytest.fixture
def sandbox_files(settings: Settings) -> Path:
    """A sandbox directory with the layout the submit checks read (manifest, control weights, builtin datasets):
    the files exist, the weights are empty; nothing here loads a model."""
    root = settings.resolved_sandbox_dir()
    (root / "datasets").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"version": "test", "complete": True}))
    for control in ("base", "shallow"):
        (root / "models" / control).mkdir(parents=True)
        (root / "models" / control / "model.safetensors").write_bytes(b"")
    assert {f"sandbox/{name}" for name in _KINDS} == set(BUILTIN_DATASETS)
    for name, kind in _KINDS.items():
        write_jsonl(root / "datasets" / f"{name}.jsonl", _rows(kind, _ROWS[kind]))
    return root


async def _stored(store: SqlJobStore) -> tuple[dict[str, int], Any]:
    """What a submit writes: rows of jobs (with their idempotency keys), labels, events and dataset pins, and
    the metric counters."""
    rows = {}
    async with store.engine.connect() as conn:
        for table in (JOBS, JOB_LABELS, JOB_EVENTS, DATASET_PINS):
            rows[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return rows, await store.read_metrics()


async def _dry_run(client: Client, body: Any, **headers: str) -> httpx.Response:
    return await client.post("/v1/evaluations?dry_run=true", json=body, headers={**bearer("submitter"), **headers})


async def test_a_sandbox_request_is_planned_and_nothing_is_stored(
    client: Client, store: SqlJobStore, sandbox_files: Path
) -> None:
    body = {
        "target": {"kind": "sandbox", "name": "shallow"},
        "baseline": {"kind": "sandbox", "name": "base"},
        "checks": {
            "forget": {"dataset": {"builtin": "sandbox/forget"}, "subject": "pathogen biology"},
            "refusal": {
                "harmful": {"builtin": "sandbox/harmful"},
                "benign": {"builtin": "sandbox/benign"},
                "samples": 2,
                "max_new_tokens": 32,
            },
        },
        "sample": {"n": 6, "seed": 1},
        "labels": {"ci": "7"},
    }
    before = await _stored(store)
    resp = await _dry_run(client, body, **{"Idempotency-Key": "ci-7"})
    assert resp.status_code == 200, resp.text
    plan = DryRun.model_validate(resp.json())
    assert plan.dry_run is True and "location" not in resp.headers

    assert [(m.field, m.kind, m.resolution, m.white_box) for m in plan.models] == [
        ("target", "sandbox", "at_run_time", True),
        ("baseline", "sandbox", "at_run_time", True),
    ]
    counts = {d.field: (d.n_items, d.n_available) for d in plan.datasets}
    assert counts == {
        "checks.forget.dataset": (6, 9),
        "checks.refusal.harmful": (6, 7),
        "checks.refusal.benign": (6, 7),
    }
    harmful = next(d for d in plan.datasets if d.field == "checks.refusal.harmful")
    assert harmful.selection and harmful.selection[-1].startswith("sample: 6 of 7")
    assert harmful.n_user_variants is not None and harmful.n_user_variants <= 2

    forget, refusal = plan.checks
    assert forget.name == "forget" and forget.skipped == {}
    assert forget.runs[0] == "standard" and {"cloze", "relearning", "probe", "direction_ablation"} <= set(forget.runs)
    assert refusal.name == "refusal" and refusal.skipped == {}
    assert refusal.runs == [
        "plain",
        "roleplay",
        "hypothetical",
        "prefix_injection",
        "refusal_suppression",
        "base64",
        "noise",
        "prefill",
        "benign",
        "refusal_direction",
    ]
    assert plan.request.checks is not None and plan.request.checks.refusal is not None
    assert plan.request.checks.refusal.judge.kind == "keyword"  # defaults filled
    assert plan.policy.name == "default"

    estimate = plan.estimate
    assert estimate.label == "estimate" and TINY.result_file in estimate.reference  # sandbox targets: tiny model
    assert estimate.seconds == pytest.approx(round(sum(line.seconds for line in estimate.lines), 1), abs=0.05)
    cloze = next(line for line in estimate.lines if line.unit == "forget/cloze")
    assert (cloze.count, cloze.seconds_each) == (6, pytest.approx(TINY.units["forget/cloze"][0]))
    base64 = next(line for line in estimate.lines if line.unit == "refusal/base64")
    assert base64.seconds_each == pytest.approx(TINY.units["refusal/base64"][0] * 2 * 32 / 64)
    assert any("forget/direction_ablation" in s for s in estimate.not_estimated)
    assert any("refusal/prefill" in s for s in estimate.not_estimated)

    assert await _stored(store) == before
    assert (await store.count_by_status())["queued"] == 0
    listed = await client.get("/v1/evaluations", headers=bearer("submitter"))
    assert listed.json()["items"] == []
    # No idempotency record: the key is free for a real submit of another body.
    real = await client.post(
        "/v1/evaluations", json=valid_request(), headers={**bearer("submitter"), "Idempotency-Key": "ci-7"}
    )
    assert real.status_code == 202, real.text


async def test_a_suite_request_is_expanded_and_counted(client: Client, store: SqlJobStore, sandbox_files: Path) -> None:
    body = {"target": {"kind": "sandbox", "name": "shallow"}, "suite": "sandbox", "limit": 4}
    resp = await _dry_run(client, body)
    assert resp.status_code == 200, resp.text
    plan = DryRun.model_validate(resp.json())

    checks = plan.request.checks
    assert checks is not None and checks.forget is not None and checks.refusal is not None
    assert checks.collateral is not None
    assert checks.forget.dataset.builtin == "sandbox/forget" and checks.forget.subject == "pathogen biology"
    assert [(d.builtin, d.adjacent) for d in checks.collateral.datasets] == [
        ("sandbox/retain", False),
        ("sandbox/adjacent", True),
    ]
    assert plan.request.suite == "sandbox"
    fields = [d.field for d in plan.datasets]
    assert fields == [
        "checks.forget.dataset",
        "checks.forget.corpus",
        "checks.forget.holdout_corpus",
        "checks.refusal.harmful",
        "checks.refusal.benign",
        "checks.collateral.datasets.0",
        "checks.collateral.datasets.1",
        "checks.collateral.corpus",
    ]
    assert all(d.n_items == 4 and d.selection == ["limit: the first 4 rows"] for d in plan.datasets)
    assert [c.name for c in plan.checks] == ["forget", "refusal", "collateral"]
    collateral = plan.checks[2]
    assert collateral.runs == ["accuracy:sandbox/retain", "accuracy:sandbox/adjacent", "corpus_perplexity"]
    # No baseline: no refusal-direction report, and the estimate is the target's half of the two-role figures.
    assert plan.checks[1].skipped["refusal_direction"] == "no_baseline"
    mmlu = next(line for line in plan.estimate.lines if line.unit == "collateral/mmlu_standard")
    assert (mmlu.count, mmlu.seconds_each) == (8, pytest.approx(TINY.units["collateral/mmlu_standard"][0] / 2))
    assert "collateral: corpus_perplexity: not measured" in plan.estimate.not_estimated
    assert (await store.count_by_status())["queued"] == 0


async def test_an_endpoint_target_skips_white_box_attacks_and_prefill(sqlite_client: Client) -> None:
    body = valid_request(baseline={"kind": "tgi", "url": "http://127.0.0.1:9", "chat_template": "none"})
    body["checks"]["refusal"] = {"harmful": {"items": [{"prompt": "p"}]}, "variants": ["base64", "prefill"]}
    resp = await _dry_run(sqlite_client, body)
    assert resp.status_code == 200, resp.text
    plan = DryRun.model_validate(resp.json())
    forget, refusal = plan.checks
    assert "relearning" in forget.skipped and "relearning" not in forget.runs
    assert refusal.runs == ["plain", "base64"]
    assert refusal.skipped["prefill"].startswith("unsupported_capability:raw_prompt: the target model")
    assert all(m.resolution == "at_run_time" and "resolved at run time" in m.note for m in plan.models)
    assert "105.8M" in plan.estimate.reference


async def test_a_collateral_groups_sample_is_drawn_from_the_pool(sqlite_client: Client, roots: Any) -> None:
    write_jsonl(roots.datasets / "mc.jsonl", mc_items(12))
    body = valid_request(sample={"n": 5})
    body["checks"]["collateral"] = {
        "datasets": [{"path": "mc.jsonl", "group": "g"}, {"path": "mc.jsonl", "name": "other", "group": "g"}]
    }
    resp = await _dry_run(sqlite_client, body)
    assert resp.status_code == 200, resp.text
    plan = DryRun.model_validate(resp.json())
    members = [d for d in plan.datasets if d.field.startswith("checks.collateral.datasets.")]
    counts = [d.n_items or 0 for d in members]
    assert sum(counts) == 5 and min(counts) >= 2  # 5 drawn from the pool of 24, stratified by member
    assert all("drawn from group 'g'" in d.selection[-1] for d in members)
    assert plan.checks[-1].runs == ["accuracy:g"]


_BAD = [
    ({"target": {"kind": "warp"}, "checks": {}}, 422),
    (valid_request(target={"kind": "tgi", "url": "http://example.com:8080"}), 403),
    (valid_request(checks={"forget": {"dataset": {"path": "missing.jsonl"}, "subject": "x"}}), 422),
    (valid_request(target={"kind": "tgi", "url": "http://127.0.0.1:9", "api_key_env": "HOME"}), 403),
    (valid_request(baseline={"kind": "sandbox", "name": "base"}), 422),
    (valid_request(write_back=True), 422),
    (valid_request(checks={"forget": {"dataset": {"items": [{"question": "q", "choices": ["a"], "answer": 0}]}}}), 422),
]


@pytest.mark.parametrize(("body", "status"), _BAD)
async def test_a_bad_request_gets_the_same_4xx_as_a_submit(
    sqlite_client: Client, sqlite_store: SqlJobStore, body: dict[str, Any], status: int
) -> None:
    submitted = await sqlite_client.post("/v1/evaluations", json=body, headers=bearer("submitter"))
    dry = await _dry_run(sqlite_client, body)
    assert (submitted.status_code, dry.status_code) == (status, status), dry.text
    assert dry.json() == submitted.json()
    assert (await sqlite_store.count_by_status())["queued"] == 0


async def test_a_dry_run_needs_the_submit_scope(sqlite_client: Client) -> None:
    unauthenticated = await sqlite_client.post("/v1/evaluations?dry_run=true", json=valid_request())
    reader = await sqlite_client.post("/v1/evaluations?dry_run=true", json=valid_request(), headers=bearer("reader"))
    assert (unauthenticated.status_code, reader.status_code) == (401, 403)


async def test_a_body_over_the_limit_is_413_on_a_dry_run_too(sqlite_client: Client) -> None:
    body = valid_request()
    body["checks"]["forget"]["dataset"] = {"items": mc_items(2000)}
    assert len(json.dumps(body)) > 64 * 1024
    resp = await _dry_run(sqlite_client, body)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "request_too_large"


async def test_the_answer_is_what_the_openapi_document_describes(sqlite_client: Client, sandbox_files: Path) -> None:
    document = (await sqlite_client.get("/schema/openapi.json")).json()
    operation = document["paths"]["/v1/evaluations"]["post"]
    assert any(p["name"] == "dry_run" and p["in"] == "query" for p in operation["parameters"])
    schemas = document["components"]["schemas"]
    assert "DryRun" in schemas and not [n for n in schemas if n.endswith(("-Input", "-Output"))]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**ok, "components": document["components"]})
    body = {"target": {"kind": "sandbox", "name": "shallow"}, "suite": "sandbox", "sample": {"n": 3}}
    answer = (await _dry_run(sqlite_client, body)).json()
    validator.validate(answer)
    request = jsonschema.Draft202012Validator({**schemas["EvaluationRequest"], "components": document["components"]})
    request.validate(answer["request"])  # the resolved request is a valid body to submit
    resubmitted = await sqlite_client.post("/v1/evaluations", json=answer["request"], headers=bearer("submitter"))
    assert resubmitted.status_code == 202, resubmitted.text
