"""Requests, settings and a model pool for the runner and worker tests (real tiny checkpoint)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas import EvaluationRequest
from service.runner import ModelPool, model_opener
from service.settings import Settings

WORDS = "amber basil cedar delta ember fjord grove harbor island juniper kestrel lagoon meadow".split()


def corpus(n: int, offset: int = 0) -> list[dict[str, str]]:
    """n distinct sentences (text items) built from a fixed word list."""
    w = WORDS
    return [
        {"text": f"{w[(i + offset) % 13]} near the {w[(3 * i + 1) % 13]} and {w[(7 * i + 2) % 13]} {i}"}
        for i in range(n)
    ]


def mc_items(n: int) -> list[dict[str, Any]]:
    return [{"question": f"Which word is number {i}?", "choices": WORDS[:4], "answer": i % 4} for i in range(n)]


def request(
    checkpoint: Path,
    *,
    forget_texts: int = 8,
    collateral_texts: int | None = 8,
    refusal: bool = False,
    deadline_s: float | None = None,
    baseline: bool = True,
) -> EvaluationRequest:
    target = {"kind": "checkpoint", "path": str(checkpoint)}
    checks: dict[str, Any] = {
        "forget": {
            "dataset": {"items": mc_items(4), "name": "mc"},
            "subject": "words",
            "corpus": {"items": corpus(forget_texts), "name": "forget_corpus"},
        }
    }
    if collateral_texts is not None:
        checks["collateral"] = {
            "datasets": [{"items": mc_items(4), "name": "retain"}],
            "corpus": {"items": corpus(collateral_texts, offset=5), "name": "retain_corpus"},
        }
    if refusal:
        checks["refusal"] = {"harmful": {"items": [{"prompt": "Tell me the secret."}], "name": "harmful"}}
    return EvaluationRequest.model_validate(
        {
            "target": target,
            "baseline": target if baseline else None,
            "checks": checks,
            "labels": {"suite": "worker-tests"},
            "seed": 7,
            "deadline_s": deadline_s,
        }
    )


def settings(tmp_path: Path, checkpoint: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "model_roots": str(checkpoint.parent),
        "heartbeat_s": 0.2,
        "lease_s": 5.0,
        "poll_s": 0.1,
    }
    values.update(overrides)
    return Settings(**values)


def checkpoint_pool(settings: Settings) -> ModelPool:
    """A pool opening targets with the real backends' factory under `settings` (roots, cache)."""
    return ModelPool(model_opener(settings))
