"""TOFU's figures through the model protocol on the tiny checkpoint: every figure equals the formula functions applied
to the model's own numbers, computed here independently (a naive forward per answer, tokens counted by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from evaluators.benchmarks import (
    forget_quality,
    model_utility,
    normalised_qa_probability,
    qa_probability,
    rouge_l_recall,
    truth_ratio,
    truth_ratios,
)
from evaluators.benchmarks.tofu_run import TofuSets, run_tofu
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint_loader import CheckpointCache
from schemas.datasets import DatasetRef
from tests.support.benchmarks import tofu
from tests.support.models import build_tiny_checkpoint

CONFIGS = {
    "forget": "forget01_perturbed",
    "retain": "retain_perturbed",
    "real_authors": "real_authors_perturbed",
    "world_facts": "world_facts_perturbed",
}


def _sets() -> TofuSets:
    loader = DatasetLoader([], None)
    loaded = {
        role: loader(DatasetRef(items=tofu.rows(config, n), name=config, columns={"prompt": "question"}), "prompt")
        for role, config in CONFIGS.items()
        for n in [tofu.SIZES[config]]
    }
    return TofuSets(**loaded)


def _avg_nll(model: Any, tokenizer: Any, question: str, answer: str) -> float:
    """The chat-formatted answer's average NLL, by hand: the tiny template, the context's trailing newline scored
    with the answer (as lm-eval encodes), BOS before the context, EOS after the answer."""
    context = f"<|user|>\n{question}\n<|assistant|>"
    continuation = f"\n{answer}\n</s>"
    ctx = tokenizer.encode(context)
    whole = tokenizer.encode(context + continuation)
    cont = whole[len(ctx) :]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0].float(), -1)
    total = float(sum(logp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))
    return -total / len(cont)


def _nlls(model: Any, sets: TofuSets, role: str, key: str) -> np.ndarray:
    items = [i.model_dump() for i in getattr(sets, role).items]
    if key == "perturbed_answer":
        return np.array([[_avg_nll(model.torch_model, model.tokenizer, i["prompt"], a) for a in i[key]] for i in items])
    return np.array([_avg_nll(model.torch_model, model.tokenizer, i["prompt"], i[key]) for i in items])


@pytest.fixture(scope="module")
def retain_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("retain") / "tiny-retain", seed=1)


async def test_tofu_figures_equal_the_formulas_on_the_models_own_numbers(
    tiny_checkpoint: Path, retain_checkpoint: Path
) -> None:
    cache = CheckpointCache(2)
    target = await cache.open(tiny_checkpoint, batch_size=8)
    reference = await cache.open(retain_checkpoint, batch_size=8)
    sets = _sets()
    section = await run_tofu("tofu-forget01", sets, target, reference=reference, seed=7)
    got = {(m.name, m.model): m for m in section.metrics}
    metrics = {m.name: m for m in section.metrics}
    assert section.status == "computed" and section.settings["chat_template_applied"] == {
        "target": True,
        "reference": True,
    }

    forget_answer = _nlls(target, sets, "forget", "answer")
    forget_para = _nlls(target, sets, "forget", "paraphrased_answer")
    forget_pert = _nlls(target, sets, "forget", "perturbed_answer")
    ref_para = _nlls(reference, sets, "forget", "paraphrased_answer")
    ref_pert = _nlls(reference, sets, "forget", "perturbed_answer")
    n_forget = tofu.SIZES["forget01_perturbed"]
    assert metrics["forget_Q_A_Prob"].value == pytest.approx(qa_probability(forget_answer), rel=1e-4)
    assert metrics["forget_Q_A_Prob"].n == n_forget
    assert metrics["forget_truth_ratio"].value == pytest.approx(
        truth_ratio(forget_para, forget_pert, "closer_to_1_better"), rel=1e-4
    )
    expected_quality = forget_quality(truth_ratios(forget_para, forget_pert), truth_ratios(ref_para, ref_pert))
    assert metrics["forget_quality"].value == pytest.approx(expected_quality, abs=1e-6)
    assert got[("forget_quality", "difference")].ci_low is None  # a p-value: no interval

    # ROUGE from the recorded generations (the records are what the figure rests on).
    generations = {
        (r.dataset, r.index): str(r.values["generation"])
        for r in section.items
        if r.model == "target" and "generation" in r.values
    }
    answers = {role: [i.model_dump()["answer"] for i in getattr(sets, role).items] for role in CONFIGS}
    rouge = {
        role: float(np.mean([rouge_l_recall(generations[(role, k)], a) for k, a in enumerate(answers[role])]))
        for role in CONFIGS
    }
    assert metrics["forget_Q_A_ROUGE"].value == pytest.approx(rouge["forget"])

    retain_answer = _nlls(target, sets, "retain", "answer")
    components = {
        "retain_Q_A_Prob": qa_probability(retain_answer),
        "retain_Q_A_ROUGE": rouge["retain"],
        "retain_Truth_Ratio": truth_ratio(
            _nlls(target, sets, "retain", "paraphrased_answer"),
            _nlls(target, sets, "retain", "perturbed_answer"),
            "true_better",
        ),
    }
    for role, prefix in (("real_authors", "ra"), ("world_facts", "wf")):
        right, wrong = _nlls(target, sets, role, "answer"), _nlls(target, sets, role, "perturbed_answer")
        components[f"{prefix}_Q_A_Prob_normalised"] = normalised_qa_probability(right, wrong)
        components[f"{prefix}_Q_A_ROUGE"] = rouge[role]
        components[f"{prefix}_Truth_Ratio"] = truth_ratio(right, wrong, "true_better")
    for name, value in components.items():
        assert metrics[name].value == pytest.approx(value, rel=1e-4, abs=1e-9), name
    utility = metrics["model_utility"]
    assert utility.value == pytest.approx(model_utility(components), rel=1e-4)
    assert utility.n == sum(tofu.SIZES[c] for c in CONFIGS.values() if c != "forget01_perturbed")
    assert utility.ci_method == "bootstrap_stratified"

    for m in section.metrics:
        assert m.gated is False and m.threshold is None
        if m.ci_low is not None and m.ci_high is not None and m.value is not None:
            assert m.ci_low <= m.value + 1e-9 and m.value <= m.ci_high + 1e-9, m.name
    n_items = sum(tofu.SIZES[c] for c in CONFIGS.values())
    assert sum(r.model == "target" for r in section.items) == n_items
    assert sum(r.model == "reference" for r in section.items) == n_forget
    # Same inputs and seed, same figures (intervals included).
    again = await run_tofu("tofu-forget01", sets, target, reference=reference, seed=7)
    assert [m.model_dump() for m in again.metrics] == [m.model_dump() for m in section.metrics]
    await target.close()
    await reference.close()


async def test_without_a_reference_forget_quality_is_not_estimable(tiny_checkpoint: Path) -> None:
    target = await CheckpointCache(1).open(tiny_checkpoint, batch_size=8)
    section = await run_tofu("tofu-forget01", _sets(), target, chat={"target": False})
    quality = next(m for m in section.metrics if m.name == "forget_quality")
    assert quality.value is None and quality.note is not None and "reference" in quality.note
    assert section.settings["chat_template_applied"] == {"target": False}
    await target.close()
