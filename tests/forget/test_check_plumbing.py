"""The forget check end to end on scripted models with known behaviour (plumbing, statistics, verdicts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from evaluators.checks.base import CheckOutcome
from evaluators.checks.forget.check import BLACK_BOX_ATTACKS, FORGET_CHECK
from schemas.datasets import DatasetRef
from schemas.requests import ForgetCheck
from tests.forget.scripted import Behaviour, ScriptedModel, always, context_for, make_items

ITEMS = make_items(200, seed=3)
SPEC = ForgetCheck(dataset=DatasetRef(builtin="sandbox/forget"), subject="spycraft", attacks=list(BLACK_BOX_ATTACKS))


def cloze_only(context: str) -> Behaviour:
    # "Question: " starts the cloze body; the letter formats list the choices as "A. ".
    return "know" if "Question: " in context and "\nA. " not in context else "guess"


async def run(target_behaviour: Callable[[str], Behaviour], baseline: bool = True, **kwargs: Any) -> CheckOutcome:
    target = ScriptedModel(ITEMS, target_behaviour, name="target")
    base = ScriptedModel(ITEMS, always("know"), name="baseline") if baseline else None
    return await FORGET_CHECK.run(SPEC, context_for(target, base, ITEMS, **kwargs))


async def test_model_that_knows_everything_fails() -> None:
    out = await run(always("know"))
    assert out.result.verdict == "fail"
    assert out.result.headline is not None
    assert out.result.headline.value == 1.0
    assert out.result.headline.n == 100  # the report half


async def test_model_at_chance_passes_with_simultaneous_bounds() -> None:
    out = await run(always("guess"))
    res = out.result
    assert res.verdict == "pass", res.reasons
    residuals = [m for m in res.metrics if m.name == "normalised_residual"]
    assert {m.variant for m in residuals} >= {"standard", "cloze", "cloze_raw", "few_shot", "generation"}
    assert all(m.ci_high is not None and m.ci_high < 0.25 for m in residuals)
    assert all("simultaneous" in (m.note or "") for m in residuals)


async def test_shallow_unlearning_fails_on_the_format_it_missed() -> None:
    out = await run(cloze_only)
    assert out.result.verdict == "fail"
    assert out.result.details["chosen_elicitation"] in {"cloze", "cloze_raw"}
    standard = next(m for m in out.result.metrics if m.name == "accuracy" and m.variant == "standard")
    assert standard.value is not None and standard.value < 0.4


async def test_below_chance_is_flagged_and_never_passes() -> None:
    def avoid_standard(context: str) -> Behaviour:
        return "avoid" if context.startswith("The following") and "Professor" not in context else "guess"

    out = await run(avoid_standard)
    assert "suppression_suspected" in out.result.reasons
    assert out.result.verdict in {"warn", "fail"}
    assert out.result.details["suppression_p_value"] < 0.05


async def test_baseline_without_the_knowledge_is_an_error() -> None:
    target = ScriptedModel(ITEMS, always("guess"))
    base = ScriptedModel(ITEMS, always("guess"))
    out = await FORGET_CHECK.run(SPEC, context_for(target, base, ITEMS))
    assert out.result.verdict == "error"
    assert out.result.reasons == ["baseline_lacks_knowledge"]


async def test_no_baseline_uses_one_minus_chance() -> None:
    out = await run(always("know"), baseline=False)
    assert "no_baseline" in out.result.reasons
    assert abs(out.result.details["baseline_knowledge"] - 0.75) < 1e-9
    assert all(r.model == "target" for r in out.records)


async def test_records_cover_every_elicitation_model_and_fold() -> None:
    out = await run(always("guess"))
    variants = {(r.variant, r.model) for r in out.records}
    for name in (
        "standard",
        "cloze",
        "alt_template",
        "few_shot",
        "roleplay",
        "refusal_suppression",
        "generation",
    ):
        assert (name, "target") in variants and (name, "baseline") in variants
    assert {r.fold for r in out.records} == set(range(5))
    assert all(r.check == "forget" and r.dataset == "fixture" for r in out.records)
    assert len([r for r in out.records if r.variant == "standard" and r.model == "target"]) == len(ITEMS)
    assert out.template_versions["few_shot"].startswith("few_shot@")
    assert [r.fold for r in out.records if r.variant == "standard" and r.model == "target"] == out.splits["folds"]


async def test_endpoint_target_skips_white_box_with_reason() -> None:
    target = ScriptedModel(ITEMS, always("guess"), name="endpoint")
    base = ScriptedModel(ITEMS, always("know"))
    spec = SPEC.model_copy(update={"attacks": ["cloze", "relearning", "quantization", "probe", "logit_lens"]})
    out = await FORGET_CHECK.run(spec, context_for(target, base, ITEMS, endpoint=True))
    skipped = out.result.details["skipped_attacks"]
    assert set(skipped) == {"relearning", "quantization", "probe", "logit_lens"}
    assert all("endpoint" in why for why in skipped.values())
    assert "white_box_attacks_skipped" in out.result.reasons
    assert out.result.verdict == "pass"


async def test_units_run_elsewhere_give_the_same_outcome() -> None:
    """A unit runner that runs the check's units in reverse order, through `run_unit` as another process would,
    gives the local outcome: results are added in the check's order, wherever and whenever units ran."""
    local = await run(cloze_only)
    target = ScriptedModel(ITEMS, cloze_only, name="target")
    base = ScriptedModel(ITEMS, always("know"), name="baseline")
    ctx = context_for(target, base, ITEMS)
    rounds: list[list[str]] = []

    async def reversed_runner(check: str, units: Sequence[Any], done: Callable[[int], None]) -> list[Any]:
        assert check == "forget"
        rounds.append([u.label for u in units])
        results: list[Any] = [None] * len(units)
        for i in reversed(range(len(units))):
            results[i] = await FORGET_CHECK.run_unit(SPEC, ctx, units[i])
            done(i)
        return results

    ctx.run_units = reversed_runner
    remote = await FORGET_CHECK.run(SPEC, ctx)
    assert rounds[0] == ["black_box-standard"]  # alone and first: it decides whether there is anything to unlearn
    assert rounds[1] == [f"black_box-{n}" for n in ("cloze", "cloze_raw", *BLACK_BOX_ATTACKS[1:])]
    assert [r.model_dump() for r in remote.records] == [r.model_dump() for r in local.records]
    assert remote.result.metrics == local.result.metrics
    assert (remote.result.verdict, remote.result.reasons) == (local.result.verdict, local.result.reasons)
