"""White-box attacks on a real tiny checkpoint (helper D's `tiny_checkpoint`) and on synthetic states."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from evaluators.attacks.latent import letter_token_ids, logit_lens_choices, probe_out_of_fold
from evaluators.attacks.relearning import TrainingBudget, shuffled_answers, train_copy
from evaluators.checks.forget.check import FORGET_CHECK
from evaluators.checks.forget.folds import stratified_folds
from evaluators.checks.forget.whitebox import quantized, relearning, white_box_of
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.protocol import WhiteBoxModel
from evaluators.scoring import LETTERS, STANDARD, score_multiple_choice
from schemas.datasets import DatasetRef
from schemas.requests import ForgetCheck, RelearningBudget
from tests.forget.scripted import context_for, make_items


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


async def test_train_copy_learns_and_leaves_the_original_alone(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    items = make_items(8, seed=1)
    before = _weights(model.torch_model)
    pairs = [(STANDARD.render(it, "spycraft").context, " " + LETTERS[it.answer]) for it in items]
    budget = TrainingBudget(steps=40, learning_rate=1e-2, batch_size=8)
    trained, report = train_copy(model.torch_model, model.tokenizer, pairs, budget, seed=0)
    for key, value in model.torch_model.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert report.method == "full" and report.steps == 40 and report.examples == 8
    scores = await score_multiple_choice(model.derived(trained, "trained"), items, "spycraft")
    original = await score_multiple_choice(model, items, "spycraft")
    # Training on the items themselves must be able to teach their answers (the tiny model starts random).
    assert sum(s.correct for s in scores) == len(items)
    assert sum(s.correct for s in original) < len(items)


async def test_lora_above_the_parameter_threshold(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    items = make_items(4, seed=2)
    pairs = [(STANDARD.render(it, "s").context, " " + LETTERS[it.answer]) for it in items]
    budget = TrainingBudget(steps=2, learning_rate=1e-3, batch_size=4, lora_above_params=0)
    trained, report = train_copy(model.torch_model, model.tokenizer, pairs, budget, seed=0)
    assert report.method == "lora"
    assert set(trained.state_dict()) == set(model.torch_model.state_dict())  # merged back, plain model


def test_placebo_labels_are_a_permutation_in_range() -> None:
    answers = [0, 1, 2, 3, 0, 1, 2, 3, 3, 3]
    shuffled = shuffled_answers(answers, [4] * 10, seed=5)
    assert sorted(shuffled) == sorted(answers)
    assert shuffled != answers
    assert shuffled == shuffled_answers(answers, [4] * 10, seed=5)


async def test_relearning_scores_each_item_out_of_fold(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    assert isinstance(model, WhiteBoxModel)
    items = make_items(15, seed=4)
    folds = stratified_folds([it.answer for it in items], 3, seed=0)
    budget = TrainingBudget(steps=2, learning_rate=1e-3, batch_size=4)
    run = await relearning(
        model, items, "s", folds, budget, seed=0, placebo=True, hook=None, variant="relearning_placebo"
    )
    assert run.correct.shape == (15,)
    for record in run.records:
        assert folds[record["index"]] not in record["trained_on_folds"]
    assert run.settings["folds"] == 3 and run.settings["placebo"] is True


async def test_quantized_copy_changes_scores_not_the_model(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    before = _weights(model.torch_model)
    run = await quantized(model, make_items(10), "s", "nf4", hook=None)
    assert run.settings["label"] == "emulated" and run.settings["layers_quantized"] == 14
    assert all(torch.equal(v, before[k]) for k, v in model.torch_model.state_dict().items())
    assert {r["label"] for r in run.records} == {"emulated"}


async def test_logit_lens_last_layer_equals_the_model_output(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    torch.manual_seed(0)
    with torch.no_grad():  # a non-trivial final norm, so applying it twice would show
        model.torch_model.model.norm.weight.mul_(torch.rand(64) + 0.5)
    items = make_items(6)
    texts = [STANDARD.render(it, "s").context for it in items]
    states = await model.hidden_states(texts)
    ids = letter_token_ids(model.tokenizer, LETTERS[:4])
    lens = logit_lens_choices(model.torch_model, states, ids, [4] * 6)
    assert lens.shape == (6, 3, 4)  # 2 layers + embeddings
    direct = await model.next_token_logprobs(
        [
            __import__("evaluators.models.protocol", fromlist=["x"]).NextTokenRequest(t, (" A", " B", " C", " D"))
            for t in texts
        ]
    )
    for row, got in zip(lens[:, -1], direct, strict=True):
        logprobs = torch.tensor([got[c] for c in (" A", " B", " C", " D")])
        assert int(row.argmax()) == int(logprobs.argmax())


def test_probe_reads_a_linear_answer_and_is_cross_fitted() -> None:
    rng = np.random.default_rng(0)
    n, layers, hidden = 120, 4, 16
    answers = rng.integers(0, 4, n).tolist()
    states = rng.normal(size=(n, layers, hidden)).astype(np.float32)
    directions = rng.normal(size=(4, hidden)).astype(np.float32) * 3
    states[:, 2] += directions[answers]  # the answer lives linearly in layer 2 only
    folds = stratified_folds(answers, 5, seed=1)
    tensors = [torch.from_numpy(s) for s in states]
    chosen_layers, picks = probe_out_of_fold(tensors, answers, [4] * n, folds, seed=0)
    accuracy = np.mean([p == a for p, a in zip(picks, answers, strict=True)])
    assert accuracy > 0.9
    assert set(chosen_layers) == {2}
    # Cross-fitting: changing fold 0's labels cannot change fold 0's predictions.
    flipped = [(a + 1) % 4 if f == 0 else a for a, f in zip(answers, folds, strict=True)]
    _, picks2 = probe_out_of_fold(tensors, flipped, [4] * n, folds, seed=0)
    assert [p for p, f in zip(picks, folds, strict=True) if f == 0] == [
        p for p, f in zip(picks2, folds, strict=True) if f == 0
    ]
    # With no signal the probe sits near chance.
    _, noise_picks = probe_out_of_fold([torch.randn(layers, hidden) for _ in range(n)], answers, [4] * n, folds, 0)
    assert np.mean([p == a for p, a in zip(noise_picks, answers, strict=True)]) < 0.45


async def test_full_check_on_a_checkpoint_runs_every_attack(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(0).open(tiny_checkpoint)
    assert white_box_of(model, is_endpoint=False) is model
    items = make_items(20, seed=6)
    spec = ForgetCheck(
        dataset=DatasetRef(builtin="sandbox/forget"),
        subject="spycraft",
        folds=2,
        relearning=RelearningBudget(steps=2, learning_rate=1e-3, batch_size=4),
    )
    out = await FORGET_CHECK.run(spec, context_for(model, None, items))
    res = out.result
    assert res.details["skipped_attacks"] == {}
    names = set(res.details["elicitations"])
    assert names >= {
        "relearning",
        "benign_relearning",
        "quantization_int8",
        "quantization_nf4",
        "logit_lens",
        "probe",
        "direction_ablation",
    }
    assert {r.variant for r in out.records} >= names | {"relearning_placebo", "direction_ablation_placebo"}
    assert res.details["elicitations"]["relearning"]["steps"] == 2
    assert res.details["elicitations"]["direction_ablation"]["reference"] == "unrelated_text"
    assert "no_baseline" in res.reasons and "insufficient_n:residual_knowledge" in res.reasons
    assert res.headline is not None and res.headline.n == 10
    timed = res.details["seconds"]
    assert set(timed) == {
        *(n for n in names if not n.startswith(("quantization_", "logit_lens", "probe"))),
        "quantization",
        "hidden_states",
        "memorisation",
    }
    assert all(t >= 0 for t in timed.values()) and timed["relearning"] > 0
    assert sum(timed.values()) <= res.duration_s + 0.01
