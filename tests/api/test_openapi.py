"""The OpenAPI document tells the truth: the request schema validates what the service validates, and every
operation lists the statuses it answers with the body it sends. (tests/api/test_fuzz.py holds a real server
to the document; these checks are the fast, structural half.)"""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest

from schemas.requests import EXAMPLE_REQUEST, EvaluationRequest
from service.openapi import to_openapi
from service.store import SqlJobStore
from tests.api.helpers import bearer, finish_next, valid_request

Client = httpx.AsyncClient
METHODS = ("get", "put", "post", "delete", "patch")
ERROR_BODY = "#/components/schemas/ErrorBody"


@pytest.fixture
async def document(sqlite_client: Client) -> dict[str, Any]:
    doc: dict[str, Any] = (await sqlite_client.get("/schema/openapi.json")).json()
    return doc


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, item in document["paths"].items() for m, op in item.items() if m in METHODS]


def _with_dataset(dataset: dict[str, Any]) -> dict[str, Any]:
    return valid_request(checks={"forget": {"subject": "biology", "dataset": dataset}})


def _validator(document: dict[str, Any], component: str) -> jsonschema.protocols.Validator:
    root = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return jsonschema.Draft202012Validator(root)


async def test_the_request_schema_accepts_what_the_service_accepts(document: dict[str, Any]) -> None:
    request = _validator(document, "EvaluationRequest")
    component = document["components"]["schemas"]["EvaluationRequest"]
    (example,) = component["examples"]
    assert example == EXAMPLE_REQUEST and request.is_valid(example)
    EvaluationRequest.model_validate(example)
    suite_only = {"target": {"kind": "sandbox", "name": "base"}, "suite": "sandbox"}
    both = {**valid_request(), "suite": "sandbox", "policy": "strict", "labels": {"ci": "1"}}
    for body in (valid_request(), suite_only, both):
        assert request.is_valid(body), body
        EvaluationRequest.model_validate(body)


@pytest.mark.parametrize(
    "body",
    [
        {"target": {"url": "http://127.0.0.1:9"}, "suite": "sandbox"},  # no `kind`: no variant to pick
        {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}},  # neither checks nor suite
        {"target": {"kind": "tgi", "url": "http://127.0.0.1:9"}, "checks": {}},  # no check in checks
        {**valid_request(), "checks": {"forget": None}},
        _with_dataset({"builtin": "sandbox/forget", "path": "x"}),
        _with_dataset({"items": []}),
        _with_dataset({"builtin": "nope"}),
        {**valid_request(), "policy": "nope"},
        {**valid_request(), "schema_version": "2.0"},
        {**valid_request(), "labels": {"k": "v\u0000"}},
        {**valid_request(), "labels": ["not", "a", "dict"]},
        {**valid_request(), "limit": 2**63},
    ],
)
async def test_the_request_schema_refuses_what_the_service_refuses(
    document: dict[str, Any], sqlite_client: Client, body: dict[str, Any]
) -> None:
    assert not _validator(document, "EvaluationRequest").is_valid(body)
    resp = await sqlite_client.post("/v1/evaluations", json=body, headers=bearer("submitter"))
    assert resp.status_code == 422, resp.text


async def test_targets_keep_their_discriminator(document: dict[str, Any]) -> None:
    target = document["components"]["schemas"]["EvaluationRequest"]["properties"]["target"]
    assert target["discriminator"]["propertyName"] == "kind"
    assert set(target["discriminator"]["mapping"]) == {"checkpoint", "hf", "mlflow", "tgi", "openai", "sandbox"}
    for name in ("CheckpointTarget", "HubTarget", "MLflowTarget", "TGITarget", "OpenAITarget", "SandboxTarget"):
        assert "kind" in document["components"]["schemas"][name]["required"], name


async def test_every_error_is_documented_with_the_error_body(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_BODY}, (method, path, status)


async def test_operations_document_the_statuses_they_answer(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        statuses = {int(s) for s in op["responses"]}
        where = f"{method} {path}"
        if any(p["in"] in ("query", "header") for p in op.get("parameters", [])):
            assert 400 in statuses, where  # a malformed parameter
        if "requestBody" in op:
            assert {400, 413, 415, 422} <= statuses, where  # not JSON or too deep, too large, not JSON, invalid
        if op.get("security"):
            assert {401, 403} <= statuses, where
            if "{job_id}" in path:
                assert 404 in statuses, where
        assert any(200 <= s < 300 for s in statuses), where
    cancel = document["paths"]["/v1/evaluations/{job_id}/cancel"]["post"]["responses"]
    assert {"200", "202"} <= set(cancel) and "201" not in cancel


async def test_non_json_answers_are_documented_as_sent(document: dict[str, Any]) -> None:
    paths = document["paths"]

    def content(path: str, status: str = "200") -> dict[str, Any]:
        found: dict[str, Any] = paths[path]["get"]["responses"][status]["content"]
        return found

    events = content("/v1/evaluations/{job_id}/events")["text/event-stream"]["schema"]
    assert events == {"$ref": "#/components/schemas/EventStreamMessage"}  # one message of the stream
    scorecard = set(content("/v1/evaluations/{job_id}/scorecard"))
    assert scorecard == {"application/json", "text/markdown", "application/xml"}
    assert set(content("/v1/evaluations/{job_id}/report")) == {"text/html"}
    assert set(content("/v1/reports")) == {"text/html"}
    assert set(content("/metrics")) == {"text/plain"}
    for path in ("/v1/webhooks/huggingface", "/v1/webhooks/generic"):
        assert "application/json" in paths[path]["post"]["requestBody"]["content"]


async def test_metrics_and_markdown_send_one_charset(sqlite_client: Client, sqlite_store: SqlJobStore) -> None:
    await sqlite_client.post("/v1/evaluations", json=valid_request(), headers=bearer("submitter"))
    job_id = await finish_next(sqlite_store)
    markdown = await sqlite_client.get(f"/v1/evaluations/{job_id}/scorecard?format=markdown", headers=bearer("reader"))
    metrics = await sqlite_client.get("/metrics")
    for resp, media in ((markdown, "text/markdown"), (metrics, "text/plain")):
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(media)
        assert resp.headers["content-type"].count("charset") == 1, resp.headers["content-type"]


def test_to_openapi_refuses_what_it_cannot_represent() -> None:
    with pytest.raises(ValueError, match="no OpenAPI spec field"):
        to_openapi({"type": "string", "x-unknown-keyword": 1})
    assert to_openapi({"$ref": "#/components/schemas/Job", "description": "d"}).to_schema() == {
        "$ref": "#/components/schemas/Job",
        "description": "d",
    }


async def test_query_limits_are_stated_as_bounds(document: dict[str, Any]) -> None:
    # Page sizes, cursors and ids take their bounds from the parameter declarations, so the document states them.
    for method, path, op in _operations(document):
        for param in op.get("parameters", []):
            schema, name = param["schema"], param["name"]
            if param["in"] != "query":
                continue
            if name in ("limit", "after", "ttl_s"):
                assert "minimum" in schema and "maximum" in schema, (method, path, name, schema)
            if name in ("cursor", "token"):
                assert schema.get("maxLength", 0) > 0, (method, path, name, schema)
    labels = next(p for p in document["paths"]["/v1/evaluations"]["get"]["parameters"] if p["name"] == "label")
    assert labels["schema"]["maxItems"] == 20
