"""MUSE's figures through the model protocol on the tiny checkpoint: every figure equals the formula functions applied
to the model's own numbers, computed here independently (a naive forward per text for the token log-probabilities,
`generate` called by hand on prompts written out here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from evaluators.benchmarks import mia_auc, min_k, privleak, rouge_l_f1
from evaluators.benchmarks.muse_run import MuseSets, run_muse
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint_loader import CheckpointCache
from schemas.datasets import DatasetRef
from tests.support.benchmarks import muse

SETS = {
    "verbmem_forget": ("verbmem", "forget", "prompt"),
    "knowmem_forget": ("knowmem", "forget_qa", "question"),
    "knowmem_forget_icl": ("knowmem", "forget_qa_icl", "question"),
    "knowmem_retain": ("knowmem", "retain_qa", "question"),
    "knowmem_retain_icl": ("knowmem", "retain_qa_icl", "question"),
    "privleak_forget": ("privleak", "forget", "text"),
    "privleak_holdout": ("privleak", "holdout", "text"),
}


def _sets() -> MuseSets:
    loader = DatasetLoader([], None)
    loaded = {}
    for role, (config, split, column) in SETS.items():
        columns = muse.rows(muse.NEWS_ID, config, split, muse.SIZES[(config, split)])
        items = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        loaded[role] = loader(DatasetRef(items=items, name=f"{config}-{split}", columns={"prompt": column}), "prompt")
    return MuseSets(**loaded)


def _min_k_scores(model: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """By hand: BOS + text, log P of every token after BOS but the last, the lowest 40% averaged and negated."""
    out = []
    for t in texts:
        ids = tokenizer(t)["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
        token_lp = [float(logp[i - 1, ids[i]]) for i in range(1, len(ids) - 1)]
        lowest = sorted(token_lp)[: max(1, int(len(token_lp) * 0.4))]
        out.append(-sum(lowest) / len(lowest))
    return np.array(out)


def _greedy(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int) -> str:
    ids = torch.tensor([tokenizer(prompt)["input_ids"]])
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))


@pytest.fixture(scope="module")
def retain_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.models import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("retain") / "tiny-retain", seed=1)


async def test_muse_figures_equal_the_formulas_on_the_models_own_numbers(
    tiny_checkpoint: Path, retain_checkpoint: Path
) -> None:
    cache = CheckpointCache(2)
    target = await cache.open(tiny_checkpoint, batch_size=8)
    reference = await cache.open(retain_checkpoint, batch_size=8)
    sets = _sets()
    section = await run_muse("muse-news", sets, target, reference=reference, chat={"target": False}, seed=3)
    assert section.status == "computed" and section.benchmark == "muse"
    got = {(m.name, m.model): m for m in section.metrics}
    records = {(r.dataset, r.index, r.model): r.values for r in section.items}
    items = {role: [i.model_dump() for i in data.items] for role, data in sets.by_role().items()}

    # Prompts: verbmem is the bare prefix; knowmem the few-shot "Question: ..\nAnswer: ..\n\n" prompt.
    first = items["verbmem_forget"][0]
    verbmem = _greedy(target.torch_model, target.tokenizer, first["prompt"], 128).split("</s>")[0].strip()
    assert records[("verbmem_forget", 0, "target")]["generation"] == verbmem
    shots = "".join(f"Question: {i['prompt']}\nAnswer: {i['answer']}\n\n" for i in items["knowmem_retain_icl"])
    question = items["knowmem_retain"][0]["prompt"]
    answer = _greedy(target.torch_model, target.tokenizer, f"{shots}Question: {question}\nAnswer: ", 32)
    for stop in ("\n\n", "\nQuestion", "Question:"):
        answer = answer.split(stop)[0]
    assert records[("knowmem_retain", 0, "target")]["generation"] == answer.strip()

    # ROUGE-L F1 from the recorded generations against the references.
    for role, name, ref_key in (
        ("verbmem_forget", "forget_verbmem_ROUGE", "gt"),
        ("knowmem_forget", "forget_knowmem_ROUGE", "answer"),
        ("knowmem_retain", "retain_knowmem_ROUGE", "answer"),
    ):
        expected = np.mean(
            [rouge_l_f1(str(records[(role, k, "target")]["generation"]), i[ref_key]) for k, i in enumerate(items[role])]
        )
        metric = got[(name, "target")]
        assert metric.value == pytest.approx(expected) and metric.n == len(items[role]), name

    # PrivLeak from min-k scores computed by hand, target and reference.
    forget = [i["prompt"] for i in items["privleak_forget"]]
    holdout = [i["prompt"] for i in items["privleak_holdout"]]
    aucs = {}
    for label, model in (("target", target), ("reference", reference)):
        f = _min_k_scores(model.torch_model, model.tokenizer, forget)
        h = _min_k_scores(model.torch_model, model.tokenizer, holdout)
        recorded = [records[("privleak_forget", k, label)]["min_k"] for k in range(len(forget))]
        assert recorded == pytest.approx(list(f), rel=1e-4)
        aucs[label] = mia_auc(f, h)
        assert got[("mia_min_k", label)].value == pytest.approx(aucs[label])
    leak = got[("privleak", "difference")]
    assert leak.value == pytest.approx(privleak(aucs["target"], aucs["reference"]))
    assert leak.n == len(forget) + len(holdout) and leak.ci_method == "bootstrap_stratified"
    assert min_k([-1.0, -3.0, -2.0], 0.4) == 3.0  # the formula the scores above re-derive

    for m in section.metrics:
        assert m.gated is False and m.threshold is None
        assert m.ci_low is not None and m.ci_high is not None and m.value is not None
        assert m.ci_low <= m.value + 1e-9 and m.value <= m.ci_high + 1e-9, m.name
    again = await run_muse("muse-news", sets, target, reference=reference, chat={"target": False}, seed=3)
    assert [m.model_dump() for m in again.metrics] == [m.model_dump() for m in section.metrics]
    await target.close()
    await reference.close()


async def test_without_a_reference_privleak_uses_the_default_retain_auc(tiny_checkpoint: Path) -> None:
    target = await CheckpointCache(1).open(tiny_checkpoint, batch_size=8)
    section = await run_muse("muse-books", _sets(), target, seed=0)
    metrics = {m.name: m for m in section.metrics}
    leak, auc = metrics["privleak"], metrics["mia_min_k"]
    assert auc.value is not None and leak.value == pytest.approx(privleak(auc.value, 0.5))
    assert leak.model == "target" and leak.note is not None and "0.5" in leak.note
    assert section.settings["chat_template_applied"] == {"target": True}
    assert section.settings["privleak"]["reference"] is False
    await target.close()
