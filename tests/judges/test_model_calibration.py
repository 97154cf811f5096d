"""The evaluators' side of model-judge calibration: the key, the selection of replies, and what a refusal check
with a model judge shows when the store has a calibration, has none, or cannot be asked."""

from __future__ import annotations

from collections import Counter
from typing import Any

from evaluators.checks.refusal import REFUSAL_CHECK
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.model_calibration import (
    ENDPOINT_CAVEAT,
    judge_endpoint_key,
    select_replies,
    stored_calibration_details,
)
from evaluators.checks.refusal.judges.model_judge import ModelJudge
from schemas.requests import RefusalCheck
from schemas.targets import OpenAITarget, SandboxTarget, TGITarget
from service.store import SqlJobStore
from service.store.judge_calibrations import judge_calibrations, stored_calibration_lookup
from tests.refusal.scripted import ScriptedModel, make_context

JUDGE = {"kind": "openai", "base_url": "http://127.0.0.1:1/v1/", "model": "judge"}


def test_the_key_is_base_url_and_model_name() -> None:
    assert judge_endpoint_key(OpenAITarget(base_url="http://h:1/v1/", model="m")) == ("http://h:1/v1", "m")
    assert judge_endpoint_key(TGITarget(url="http://h:2/")) == ("http://h:2", "")
    assert judge_endpoint_key(SandboxTarget(name="base")) is None


def test_a_limit_keeps_prompts_and_source_models_mixed_and_is_stable() -> None:
    first = select_replies("heldout", 60)
    assert first == select_replies("heldout", 60)
    assert {r.split for r in first} == {"heldout"}
    assert min(Counter(r.model for r in first).values()) >= 15
    assert {r.prompt_label for r in first} == {"safe", "unsafe"}
    assert len(select_replies("all", None)) == 1350


async def _audit_details(lookup: Any) -> dict[str, Any]:
    target = ScriptedModel(lambda p: "I can't help with that.")
    ctx = make_context(target, None)
    ctx.open_model = _opener
    ctx.stored_judge_calibration = lookup
    spec = RefusalCheck.model_validate(
        {"harmful": {"items": [{"prompt": "HARM 1"}]}, "variants": [], "judge": {"kind": "model", "target": JUDGE}}
    )
    outcome = await REFUSAL_CHECK.run(spec, ctx)
    details: dict[str, Any] = outcome.result.details["judge_calibration"]
    return details


async def _opener(target: Any) -> Any:
    return ScriptedModel(lambda p: "refusal", name="judge")


async def test_an_audit_says_when_no_calibration_is_stored(sqlite_store: SqlJobStore) -> None:
    details = await _audit_details(stored_calibration_lookup(sqlite_store))
    stored = details["model_judge_stored"]
    assert stored["status"] == "none_stored" and (stored["endpoint"], stored["model"]) == (
        "http://127.0.0.1:1/v1",
        "judge",
    )


async def test_an_audit_shows_the_newest_succeeded_calibration_of_its_key(sqlite_store: SqlJobStore) -> None:
    from schemas.judge_calibration import JudgeCalibrationRequest

    calibrations = judge_calibrations(sqlite_store)
    request = JudgeCalibrationRequest.model_validate({"target": JUDGE})
    for figures in ({"n": 1, "items": [{"x": 1}]}, {"n": 2, "items": [{"x": 2}]}):
        row = await calibrations.create(request, "http://127.0.0.1:1/v1", "judge")
        assert await calibrations.claim("w", 60) is not None
        assert await calibrations.finish(row.id, "w", figures=figures)
    other = await calibrations.create(request, "http://127.0.0.1:1/v1", "another-model")
    assert (await calibrations.claim("w", 60)) is not None
    assert await calibrations.finish(other.id, "w", figures={"n": 3})
    stored = (await _audit_details(stored_calibration_lookup(sqlite_store)))["model_judge_stored"]
    assert stored["status"] == "stored" and stored["n"] == 2 and "items" not in stored
    assert stored["caveat"] == ENDPOINT_CAVEAT and stored["calibration_id"] == row.id


async def test_without_a_store_or_a_model_judge_the_audit_says_so() -> None:
    assert (await _audit_details(None))["model_judge_stored"]["status"] == "unavailable"
    keyword_only = await stored_calibration_details(LayeredJudge(), None, None)
    assert keyword_only == {}
    checkpoint = await stored_calibration_details(
        LayeredJudge(model=ModelJudge(ScriptedModel(lambda p: "refusal"))), SandboxTarget(name="base"), None
    )
    assert checkpoint["model_judge_stored"]["status"] == "not_an_endpoint"


async def test_a_lapsed_lease_lets_another_worker_claim_and_the_first_cannot_finish(sqlite_store: SqlJobStore) -> None:
    from schemas.judge_calibration import JudgeCalibrationRequest

    calibrations = judge_calibrations(sqlite_store)
    row = await calibrations.create(JudgeCalibrationRequest.model_validate({"target": JUDGE}), "e", "m")
    assert await calibrations.claim("first", -1) is not None  # its lease is over at once
    again = await calibrations.claim("second", 60)
    assert again is not None and again.id == row.id and again.attempts == 2
    assert not await calibrations.finish(row.id, "first", figures={"n": 0})
    assert not await calibrations.heartbeat(row.id, "first", 60)
    assert await calibrations.finish(row.id, "second", figures={"n": 0})
    assert await calibrations.claim("third", 60) is None
