"""Per-item parity with lm-eval 0.4.13 (`--model hf`, zero-shot, default BOS) on a tiny local checkpoint.

lm-eval runs as a library with a task config identical to its WMDP/MMLU template (and a 5-choice variant,
whose " E" is two tokens in the tiny tokenizer, so the multi-token path is compared too). Only items whose
two best choices lie within 1e-4 of each other may differ.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.scoring import STANDARD, score_multiple_choice
from schemas.datasets import MultipleChoiceItem
from tests.support.models import SENTENCES

pytest.importorskip("lm_eval")

WORDS = sorted({w.strip(".,:?") for s in SENTENCES for w in s.split()} - {""})
SUBJECT = "biology"


def make_items(n: int, n_choices: int, seed: int) -> list[MultipleChoiceItem]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        question = " " + " ".join(rng.choices(WORDS, k=rng.randint(4, 12))) + "? "
        choices = [" ".join(rng.choices(WORDS, k=rng.randint(1, 4))) for _ in range(n_choices)]
        items.append(MultipleChoiceItem(question=question, choices=choices, answer=rng.randrange(n_choices)))
    return items


def lm_eval_task(data: Path, n_choices: int) -> dict[str, object]:
    letters = list(string.ascii_uppercase[:n_choices])
    lines = "".join(f"\n{L}. {{{{choices[{i}]}}}}" for i, L in enumerate(letters))
    return {
        "task": f"parity_{n_choices}",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test",
        "num_fewshot": 0,
        "output_type": "multiple_choice",
        "doc_to_text": "{{question.strip()}}" + lines + "\nAnswer:",
        "doc_to_choice": letters,
        "doc_to_target": "answer",
        "description": f"The following are multiple choice questions (with answers) about {SUBJECT}.\n\n",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }


@pytest.mark.parametrize("n_choices", [4, 5])
async def test_per_item_correctness_equals_lm_eval(
    tiny_checkpoint: Path, tmp_path: Path, n_choices: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    items = make_items(40, n_choices, seed=n_choices)
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i.model_dump()) + "\n" for i in items))

    hflm = HFLM(pretrained=str(tiny_checkpoint), device="cpu", dtype="float32", batch_size=8)
    out = lm_eval.simple_evaluate(
        model=hflm, tasks=[lm_eval_task(data, n_choices)], log_samples=True, cache_requests=False
    )
    assert out is not None
    samples = sorted(out["samples"][f"parity_{n_choices}"], key=lambda s: s["doc_id"])
    assert len(samples) == len(items)

    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=8)
    ours = await score_multiple_choice(model, items, SUBJECT, template=STANDARD)

    compared = 0
    for sample, score in zip(samples, ours, strict=True):
        theirs = [float(r[0]) for r in sample["filtered_resps"]]
        assert sample["arguments"][0][0] == score.context  # the very same prompt text
        assert score.logliks is not None
        top = sorted(theirs, reverse=True)
        if top[0] - top[1] < 1e-4:
            continue
        compared += 1
        assert score.correct == bool(sample["acc"]), f"item {score.index}: ours {score.logliks} lm-eval {theirs}"
        assert score.logliks == pytest.approx(theirs, abs=1e-4)
    assert compared >= 30
