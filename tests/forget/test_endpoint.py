"""An endpoint target over real HTTP (the OpenAI-compatible test server): white-box attacks are listed as
skipped with the reason, and the black-box part of the check still runs and decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluators.attacks.relearning import TrainingBudget, train_copy
from evaluators.checks.forget import FORGET_CHECK
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.scoring import LETTERS, STANDARD
from schemas.datasets import DatasetRef
from schemas.policy import Policy
from schemas.requests import ForgetCheck
from tests.forget.scripted import context_for, make_items

ITEMS = make_items(24, seed=9)


async def test_endpoint_target_runs_black_box_and_skips_white_box(tiny_checkpoint: Path, openai_server: Any) -> None:
    # The baseline: the tiny checkpoint taught the items (it knows them); the target: the untaught model
    # served over HTTP, which knows nothing (residual near zero).
    local = await CheckpointCache(0).open(tiny_checkpoint)
    pairs = [(STANDARD.render(it, "spycraft").context, " " + LETTERS[it.answer]) for it in ITEMS]
    taught, _ = train_copy(
        local.torch_model,
        local.tokenizer,
        pairs,
        TrainingBudget(steps=60, learning_rate=1e-2, batch_size=8),
        seed=0,
    )
    baseline = local.derived(taught, "taught")
    target = OpenAICompatModel(openai_server[0] + "/v1", "tiny")
    spec = ForgetCheck(
        dataset=DatasetRef(builtin="sandbox/forget"),
        subject="spycraft",
        folds=3,
        attacks=["alt_template", "relearning", "quantization", "probe", "logit_lens", "benign_relearning"],
    )
    try:
        out = await FORGET_CHECK.run(spec, context_for(target, baseline, ITEMS, endpoint=True, policy=Policy(n_min=10)))
    finally:
        await target.close()
    res = out.result
    assert res.verdict != "error", res.summary
    skipped = res.details["skipped_attacks"]
    assert set(skipped) == {"relearning", "quantization", "probe", "logit_lens", "benign_relearning"}
    assert all("target is an endpoint" in why for why in skipped.values())
    assert "white_box_attacks_skipped" in res.reasons
    assert set(res.details["elicitations"]) == {"standard", "alt_template"}
    assert {(r.variant, r.model) for r in out.records} == {
        (v, m) for v in ("standard", "alt_template") for m in ("target", "baseline")
    }
    assert res.details["baseline_knowledge"] > 0  # the taught baseline is above chance (else: error)
