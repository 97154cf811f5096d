"""The API process as a `[server]`-only install runs it: the model libraries cannot be imported.

`python -m tests.api.torch_free_probe app DIR`: create_app on Litestar's TestClient, each kind of call once
(health, submits, a dry run, reads, metrics, a judge calibration, webhooks); prints a JSON summary.
`python -m tests.api.torch_free_probe serve DIR PORT [WORKERS]`: `unlearn-audit serve --workers WORKERS`
(default 0) until SIGTERM; prints the summary at exit.

A finder first on `sys.meta_path` refuses torch, transformers, peft, safetensors, tokenizers and accelerate as
if they were not installed, and records every attempt to import them; the summary lists those attempts and
any of them found in `sys.modules`.
"""

from __future__ import annotations

import atexit
import importlib.abc
import json
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

MODEL_LIBRARIES = ("torch", "transformers", "peft", "safetensors", "tokenizers", "accelerate")


class ModelLibraryBlocker(importlib.abc.MetaPathFinder):
    """Import of a model library fails as on an install without it (ModuleNotFoundError); attempts are kept."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.split(".")[0] in MODEL_LIBRARIES:
            self.attempts.append(fullname)
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked)", name=fullname)
        return None


def model_libraries_summary(blocker: ModelLibraryBlocker) -> dict[str, list[str]]:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in MODEL_LIBRARIES)
    return {"import_attempts": sorted(set(blocker.attempts)), "loaded": loaded}


def write_sandbox(root: Path) -> None:
    """The sandbox layout submit and dry run read (manifest, control weights, builtin datasets); the weights
    are empty files: nothing here loads a model."""
    (root / "datasets").mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"version": "test", "complete": True}))
    for control in ("base", "shallow"):
        (root / "models" / control).mkdir(parents=True)
        (root / "models" / control / "model.safetensors").write_bytes(b"")
    items = [{"question": f"Q{i}?", "choices": ["a", "b", "c", "d"], "answer": i % 4} for i in range(8)]
    (root / "datasets" / "forget.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    prompts = [{"prompt": f"request {i}"} for i in range(5)]
    for name in ("harmful", "benign"):
        (root / "datasets" / f"{name}.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))


SANDBOX_REQUEST: dict[str, Any] = {
    "target": {"kind": "sandbox", "name": "shallow"},
    "baseline": {"kind": "sandbox", "name": "base"},
    "checks": {
        "forget": {"dataset": {"builtin": "sandbox/forget"}, "subject": "pathogen biology"},
        "refusal": {"harmful": {"builtin": "sandbox/harmful"}, "benign": {"builtin": "sandbox/benign"}},
    },
}


def run_app(data_dir: Path) -> dict[str, Any]:
    """Each kind of API call once, on create_app with its own store: {"statuses": {call: HTTP status}} and
    what the dry run planned."""
    from litestar.testing import TestClient

    from service.app import create_app
    from tests.api.helpers import API_KEYS, bearer
    from tests.webhooks import payloads
    from tests.webhooks.app import SECRETS, webhook_settings

    settings = webhook_settings(data_dir, api_keys=API_KEYS, sandbox_dir=data_dir / "sandbox")
    write_sandbox(settings.resolved_sandbox_dir())
    checkpoint = {"kind": "checkpoint", "path": str(data_dir / "models" / "acme" / "base")}
    statuses: dict[str, int] = {}
    with TestClient(create_app(settings)) as client:
        submitter = bearer("submitter")
        statuses["healthz"] = client.get("/healthz").status_code
        statuses["readyz"] = client.get("/readyz").status_code
        submitted = client.post("/v1/evaluations", json=SANDBOX_REQUEST, headers=submitter)
        statuses["submit_sandbox"] = submitted.status_code
        statuses["submit_checkpoint"] = client.post(
            "/v1/evaluations", json={**SANDBOX_REQUEST, "target": checkpoint, "baseline": None}, headers=submitter
        ).status_code
        invalid = {**SANDBOX_REQUEST, "target": {"kind": "sandbox", "name": "no-such-control"}}
        statuses["submit_invalid"] = client.post("/v1/evaluations", json=invalid, headers=submitter).status_code
        dry = client.post("/v1/evaluations?dry_run=true", json=SANDBOX_REQUEST, headers=submitter)
        statuses["dry_run"] = dry.status_code
        job = f"/v1/evaluations/{submitted.json().get('id')}"
        statuses["job"] = client.get(job, headers=submitter).status_code
        statuses["scorecard"] = client.get(f"{job}/scorecard", headers=submitter).status_code
        statuses["report"] = client.get(f"{job}/report", headers=submitter).status_code
        statuses["list"] = client.get("/v1/evaluations", headers=submitter).status_code
        statuses["metrics"] = client.get("/metrics").status_code
        judge = {"target": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "judge"}, "limit": 3}
        statuses["judge_calibration"] = client.post(
            "/v1/judges/calibrations", json=judge, headers=bearer("admin")
        ).status_code
        statuses["openapi"] = client.get("/schema/openapi.json").status_code
        body = payloads.generic_body()
        statuses["webhook_generic"] = client.post(
            "/v1/webhooks/generic",
            content=body,
            headers=payloads.generic_headers(SECRETS["generic_webhook_secret"], body),
        ).status_code
        hf = json.dumps(payloads.hf_payload(sha="c" * 40)).encode()  # a checkpoint target, inspected at submit
        statuses["webhook_huggingface"] = client.post(
            "/v1/webhooks/huggingface",
            content=hf,
            headers={"X-Webhook-Secret": SECRETS["hf_webhook_secret"], "Content-Type": "application/json"},
        ).status_code
    plan = dry.json() if dry.status_code == 200 else {}
    return {
        "statuses": statuses,
        "dry_run_checks": [c["name"] for c in plan.get("checks", [])],
        "dry_run_white_box": "relearning" in next((c["runs"] for c in plan.get("checks", [])), []),
    }


def main(argv: Sequence[str]) -> int:
    blocker = ModelLibraryBlocker()
    sys.meta_path.insert(0, blocker)
    mode, data_dir = argv[0], Path(argv[1])
    if mode == "app":
        summary = run_app(data_dir)
        print(json.dumps({**summary, **model_libraries_summary(blocker)}))
        return 0
    # serve: the summary goes to stdout when the server stops
    atexit.register(lambda: print(json.dumps(model_libraries_summary(blocker)), flush=True))
    from service.cli import main as cli_main

    return cli_main(["serve", "--port", argv[2], "--workers", argv[3] if len(argv) > 3 else "0"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
