"""Schemathesis against a real `unlearn-audit serve --workers 0`, driven by the OpenAPI document it serves.

With the admin key, every operation is fuzzed (examples, coverage and fuzzing phases), then the stateful
phase chains operations through links inferred from the document: any 5xx, and any response off its
documented status, content type or schema, fails the test of that operation. Without a key, every scoped
operation answers 401 and nothing else (a receiver too, without its signature). Every receiver has its
secret and the store is up, so no documented 503 can occur. The store is seeded with a succeeded, a
running and a queued evaluation, so that scorecards (in each format), reports, items, cancels and
redeliveries answer more than 404: when the stateful phase reaches them through the listing, and every
time in `test_seeded_evaluations_conform_in_every_format`.

The seed is fixed; `FUZZ_MAX_EXAMPLES` sets the examples per operation (default 50).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import Case

from schemas.requests import EvaluationRequest
from service.app import create_app
from service.openapi import finish_document
from service.settings import Settings
from service.store import SqlJobStore, create_store
from tests.api.helpers import finish_next, records, valid_request
from tests.cli.server import free_port
from tests.support.serve_process import ROOT, cli

pytestmark = pytest.mark.slow

ADMIN_KEY = "fuzz-admin-key"
SEED = 20240611
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "50"))
ANONYMOUS_MAX_EXAMPLES = 10
SUBMIT_MAX_EXAMPLES = 4 * MAX_EXAMPLES
STATEFUL_SCENARIOS = 25
STATEFUL_RUNS = 4
"""Stateful runs of `STATEFUL_SCENARIOS` scenarios each, seeds SEED, SEED+1, ..."""
PER_OPERATION_CAP_S = 120
"""Wall-time cap of one operation's fuzzing (pytest-timeout); the whole module takes well under 5 minutes."""
RECEIVER_SECRETS = {
    "UNLEARN_AUDIT_HF_WEBHOOK_SECRET": "fuzz-hf-secret",
    "UNLEARN_AUDIT_MLFLOW_WEBHOOK_SECRET": "fuzz-mlflow-secret",
    "UNLEARN_AUDIT_DATABRICKS_WEBHOOK_SECRET": "fuzz-databricks-secret",
    "UNLEARN_AUDIT_WANDB_WEBHOOK_SECRET": "fuzz-wandb-secret",
    "UNLEARN_AUDIT_GENERIC_WEBHOOK_SECRET": "fuzz-generic-secret",
}
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/v1/signing-keys"})
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _config(max_examples: int, **extra: Any) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # A sandbox target's first check imports torch in the server: seconds, more on a loaded machine.
            "request-timeout": 30,
            # A queued job's event stream never ends: read its first event, and give up on a quiet one soon.
            "max-stream-events": 1,
            "operations": [
                {"include-path": "/v1/evaluations/{job_id}/events", "request-timeout": 2},
                # The coverage phase crosses every target kind's fields with every role (target, baseline,
                # reference): about 32,000 submits, minutes on 2 cores. This operation gets more generated
                # examples instead, which reach the same fields at random.
                {
                    "include-path": "/v1/evaluations",
                    "include-method": "POST",
                    "phases": {"coverage": {"enabled": False}},
                    "generation": {"max-examples": SUBMIT_MAX_EXAMPLES},
                },
            ],
            "generation": {"max-examples": max_examples, "database": "none", "with-security-parameters": False},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            **extra,
        }
    )


def _document() -> dict[str, Any]:
    """The OpenAPI document as the server serves it, built in-process so tests exist per operation at
    collection; `test_the_server_serves_the_fuzzed_document` holds the served one to it."""
    app = create_app(Settings(data_dir=Path("unused")))
    finish_document(app)
    document: dict[str, Any] = json.loads(json.dumps(app.openapi_schema.to_schema()))
    return document


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=_config(MAX_EXAMPLES))
anonymous = schemathesis.openapi.from_dict(
    DOCUMENT, config=_config(ANONYMOUS_MAX_EXAMPLES, phases={"coverage": {"enabled": False}})
)
SUBMITS: Counter[int] = Counter()


@dataclass
class Served:
    url: str
    log: Path
    seeded: dict[str, str]
    """Evaluation ids by status: succeeded, running, queued."""


def _questions(n: int) -> str:
    rows = [{"question": f"Which letter is number {i}?", "choices": list("ABCD"), "answer": i % 4} for i in range(n)]
    return "".join(json.dumps(row) + "\n" for row in rows)


async def _seed(database_url: str) -> dict[str, str]:
    """A succeeded evaluation (scorecard, items, callback), a running one (leased for an hour) and a queued one."""
    store = await create_store(database_url)
    assert isinstance(store, SqlJobStore)
    try:
        done = valid_request(callback={"url": "http://127.0.0.1:9/hook"}, labels={"seeded": "succeeded"})
        await store.create_job(EvaluationRequest.model_validate(done))
        succeeded = await finish_next(store, items=records(3))
        running, _ = await store.create_job(EvaluationRequest.model_validate(valid_request()))
        assert await store.claim_next("fuzz-seed-worker", lease_s=3600) is not None
        queued, _ = await store.create_job(EvaluationRequest.model_validate(valid_request()))
        return {"succeeded": succeeded, "running": running.id, "queued": queued.id}
    finally:
        await store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("fuzz")
    for name in ("models", "datasets", "data"):
        (root / name).mkdir()
    (root / "datasets" / "wmdp_bio.jsonl").write_text(_questions(8))  # the dataset path the document's example names
    profiles = root / "webhook_profiles.yaml"
    profiles.write_text(
        "profiles:\n  - name: hub-models\n    registry: huggingface\n    model: 'acme/*'\n"
        "    target: {kind: tgi, url: 'http://127.0.0.1:8080'}\n    suite: sandbox\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env.update(
        PYTHONPATH=str(ROOT),
        UNLEARN_AUDIT_DATA_DIR=str(root / "data"),
        UNLEARN_AUDIT_API_KEYS=f"{ADMIN_KEY}:admin",
        UNLEARN_AUDIT_MODEL_ROOTS=str(root / "models"),
        UNLEARN_AUDIT_DATA_ROOTS=str(root / "datasets"),
        UNLEARN_AUDIT_WEBHOOK_PROFILES_FILE=str(profiles),
        **RECEIVER_SECRETS,
    )
    seeded = asyncio.run(_seed(Settings(data_dir=root / "data").resolved_database_url()))
    port = free_port()
    log_path = root / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*cli(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "0"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Served(_wait_ready(f"http://127.0.0.1:{port}", process, log_path), log_path, seeded)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError("serve exited early:\n" + log.read_text()[-3000:])
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("serve not ready:\n" + log.read_text()[-3000:])
        time.sleep(0.2)


def test_the_server_serves_the_fuzzed_document(served: Served) -> None:
    assert httpx.get(f"{served.url}/schema/openapi.json").json() == DOCUMENT


@pytest.mark.timeout(PER_OPERATION_CAP_S)
@schema.parametrize()
def test_every_operation_conforms(case: Case, served: Served) -> None:
    response = case.call_and_validate(base_url=served.url, headers=AS_ADMIN)
    if case.operation.method.upper() == "POST" and case.operation.path == "/v1/evaluations":
        SUBMITS[response.status_code] += 1


def test_a_fuzzed_submit_was_accepted() -> None:
    """The document lets a client build a request the service accepts (202, or 200 for a retried key)."""
    assert SUBMITS, "test_every_operation_conforms did not run"
    assert SUBMITS[202] + SUBMITS[200] > 0, f"no fuzzer-built submit was accepted: {dict(SUBMITS)}"


def test_seeded_evaluations_conform_in_every_format(served: Served) -> None:
    """What the stateful phase reaches only by chance, every time: each read of a succeeded evaluation in each
    format, the stream of an ended one, a redelivery, and cancels of a running and a queued one."""
    done = {"job_id": served.seeded["succeeded"]}
    calls: list[tuple[str, str, dict[str, str], dict[str, str], int]] = [
        ("GET", "/v1/evaluations/{job_id}", done, {}, 200),
        *(("GET", "/v1/evaluations/{job_id}/scorecard", done, {"format": f}, 200) for f in ("json", "md", "junit")),
        ("GET", "/v1/evaluations/{job_id}/attestation", done, {}, 200),
        ("GET", "/v1/evaluations/{job_id}/report", done, {}, 200),
        ("GET", "/v1/evaluations/{job_id}/items", done, {"limit": "2"}, 200),
        ("GET", "/v1/evaluations/{job_id}/deliveries", done, {}, 200),
        ("GET", "/v1/evaluations/{job_id}/events", done, {}, 200),
        ("POST", "/v1/evaluations/{job_id}/deliveries/redeliver", done, {}, 202),
        ("POST", "/v1/evaluations/{job_id}/cancel", {"job_id": served.seeded["running"]}, {}, 202),
        ("POST", "/v1/evaluations/{job_id}/cancel", {"job_id": served.seeded["queued"]}, {}, 200),
        ("GET", "/v1/reports", {}, {}, 200),
    ]
    for method, path, path_parameters, query, status in calls:
        case = schema[path][method].Case(path_parameters=path_parameters, query=query)
        response = case.call_and_validate(base_url=served.url, headers=AS_ADMIN)
        assert response.status_code == status, (method, path, query, response.text[:300])
        (content_type,) = response.headers["content-type"]
        if content_type.startswith("text/"):
            assert content_type.lower().count("charset") == 1, (path, content_type)


@pytest.mark.timeout(PER_OPERATION_CAP_S)
def test_stateful_sequences_conform(served: Served) -> None:
    failures: list[Exception] = []
    steps = 0

    class AsAdmin(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": served.url, "headers": AS_ADMIN}

        def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
            nonlocal steps
            steps += 1
            try:
                super().validate_response(response, case, **kwargs)
            except Exception as exc:
                failures.append(exc)
                raise

    # As schemathesis's own runner: generate only, and a run whose steps stop replaying alike ends there. The
    # server's state moves under the scenarios (jobs accumulate), so Hypothesis may find a known prefix of steps
    # enabling other rules than before and call the generation flaky; a check that failed is reported anyway.
    settings = hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS,
        stateful_step_count=6,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
        deadline=None,
    )
    for run in range(STATEFUL_RUNS):
        try:
            hypothesis.seed(SEED + run)(AsAdmin).run(settings=settings)
        except hypothesis.errors.FlakyStrategyDefinition:
            pass
        if failures:
            raise failures[0]
    assert steps >= STATEFUL_RUNS * 2, f"the stateful phase made only {steps} calls"


@pytest.mark.timeout(PER_OPERATION_CAP_S)
@anonymous.parametrize()
def test_without_a_key_scoped_operations_answer_401(case: Case, served: Served) -> None:
    response = case.call_and_validate(base_url=served.url)
    if case.operation.path in OPEN_PATHS:
        assert response.status_code == 200, response.text[:300]
    else:  # API routes (the key) and registry receivers (their signature)
        assert response.status_code == 401, response.text[:300]
        assert response.json()["error"]["code"] in ("unauthorized", "bad_signature")
