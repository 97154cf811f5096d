"""The collateral check end to end: scripted models (plumbing) and a tiny real checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluators.checks.collateral import COLLATERAL_CHECK
from schemas.policy import PRESETS
from schemas.requests import CollateralCheck
from tests.refusal.scripted import ScriptedModel, make_context

N = 120


def items(prefix: str, n: int = N) -> list[dict[str, Any]]:
    return [{"question": f"{prefix} question {i}?", "choices": ["w", "x", "y", "z"], "answer": i % 4} for i in range(n)]


def knower(forgotten: set[str] = frozenset(), gibberish: bool = False) -> ScriptedModel:  # type: ignore[assignment]
    """Puts its weight on the right letter, except on questions whose text contains a forgotten key."""

    def loglik(context: str, continuation: str) -> float:
        question = context.split("\n\n", 1)[1].split("\n", 1)[0]
        index = int(question.split(" question ")[1].rstrip("?"))
        knows = not any(key in question for key in forgotten)
        right = " ABCD"[1 + index % 4] if knows else " ABCD"[1 + (index + 1) % 4]
        return -0.1 if continuation.strip() == right.strip() else -3.0

    def reply(prompt: str) -> str:
        return "zzkq vvtr ppxl" if gibberish else "Towns lie along the river, and the markets open early."

    return ScriptedModel(reply, loglik=loglik)


def spec(**kw: Any) -> CollateralCheck:
    return CollateralCheck.model_validate(
        {
            "datasets": [
                {"items": items("general"), "name": "general", "subject": "geography"},
                {"items": items("neighbour"), "name": "neighbour", "adjacent": True},
            ],
            **kw,
        }
    )


async def test_identical_models_pass_with_adjacent_reported_apart() -> None:
    outcome = await COLLATERAL_CHECK.run(spec(), make_context(knower(), knower()))
    r = outcome.result
    assert r.verdict == "pass", r.reasons
    assert r.headline is not None and r.headline.name == "largest_accuracy_drop" and r.headline.gated
    assert r.headline.value == 0.0 and r.headline.ci_high is not None and r.headline.ci_high < 0.05
    assert [row["dataset"] for row in r.details["general"]] == ["general"]
    assert [row["dataset"] for row in r.details["adjacent"]] == ["neighbour"]
    assert r.details["simultaneous"] == "bonferroni" and r.details["m"] == 2
    assert len(outcome.records) == 2 * 2 * N
    rec = outcome.records[0]
    assert rec.check == "collateral" and rec.record["template"] and "correct" in rec.record
    assert [d.name for d in outcome.datasets] == ["general", "neighbour"]


async def test_lost_general_knowledge_fails_on_the_largest_drop() -> None:
    # The target forgets questions 0-39 of the general set: a 33-point drop.
    forgot = {f"general question {i}?" for i in range(40)}
    outcome = await COLLATERAL_CHECK.run(spec(), make_context(knower(forgot), knower()))
    r = outcome.result
    assert r.verdict == "fail" and "fails_threshold:largest_accuracy_drop[general]" in r.reasons
    assert r.headline is not None and r.headline.variant == "general"
    assert abs(r.headline.value - 40 / N) < 1e-9  # type: ignore[operator]
    assert r.details["general"][0]["mcnemar_p"] < 0.001
    drop = next(m for m in r.metrics if m.name == "accuracy_drop" and m.variant == "general")
    assert not drop.gated and "McNemar" in (drop.note or "")


async def test_without_baseline_warns_unless_a_floor_is_set() -> None:
    outcome = await COLLATERAL_CHECK.run(spec(), make_context(knower(), None))
    assert outcome.result.verdict == "warn" and outcome.result.reasons == ["no_baseline"]
    assert outcome.result.headline is not None and outcome.result.headline.name == "lowest_accuracy"
    floor = PRESETS["default"].model_copy(update={"collateral_accuracy_floor": 0.5})
    outcome = await COLLATERAL_CHECK.run(spec(), make_context(knower(), None, floor))
    assert outcome.result.verdict == "pass", outcome.result.reasons
    high_floor = PRESETS["default"].model_copy(update={"collateral_accuracy_floor": 0.99})
    forgot = {f"neighbour question {i}?" for i in range(30)}
    outcome = await COLLATERAL_CHECK.run(spec(), make_context(knower(forgot), None, high_floor))
    assert outcome.result.verdict == "fail" and outcome.result.headline.variant == "neighbour"  # type: ignore[union-attr]


async def test_degenerate_generation_on_benign_prompts_is_reported() -> None:
    prompts = [{"prompt": f"Tell me about town {i}."} for i in range(20)]
    outcome = await COLLATERAL_CHECK.run(
        spec(prompts={"items": prompts, "name": "benign"}), make_context(knower(gibberish=True), knower())
    )
    metrics = {(m.name, m.model): m for m in outcome.result.metrics}
    assert metrics["degenerate_rate", "target"].value == 1.0
    assert metrics["degenerate_rate", "baseline"].value == 0.0
    assert metrics["degenerate_rate_change", "difference"].value == 1.0
    assert not metrics["degenerate_rate_change", "difference"].gated
    assert sum(r.variant == "generation" for r in outcome.records) == 40


async def test_runs_on_a_tiny_real_checkpoint_with_perplexity(tiny_checkpoint: Path) -> None:
    from evaluators.models.checkpoint_loader import CheckpointCache

    model = await CheckpointCache().open(tiny_checkpoint)
    s = CollateralCheck.model_validate(
        {
            "datasets": [{"items": items("general", 6), "name": "general"}],
            "corpus": {"items": [{"text": "Water boils at one hundred degrees."}, {"text": "The fox jumps."}]},
            "prompts": {"items": [{"prompt": "Say something."}]},
        }
    )
    policy = PRESETS["default"].model_copy(update={"bootstrap_resamples": 200})
    outcome = await COLLATERAL_CHECK.run(s, make_context(model, model, policy))
    r = outcome.result
    ratio = next(m for m in r.metrics if m.name == "perplexity_ratio")
    assert ratio.value is not None and abs(ratio.value - 1.0) < 1e-6 and ratio.n == 2
    assert r.headline is not None and r.headline.value == 0.0
    # Six items cannot pass a gate that needs n_min = 50.
    assert r.verdict == "warn" and "insufficient_n:largest_accuracy_drop[general]" in r.reasons
    assert r.details["perplexity"]["target_per_char"] > 1.0
