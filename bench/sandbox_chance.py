"""Is a sandbox control's above-chance forget figure information or luck?

A control that never saw a forget fact (`retrain`, `norefusal`) answers each forget item correctly with
probability exactly 1/k: the true value is drawn uniformly from its attribute's pool, the distractors uniformly
from the rest, and the answer position is balanced. A high count in one elicitation is then a draw, not
knowledge. Two readings that a draw does not move much tell them apart:

- rotation-averaged accuracy: every item scored again with its choices rotated by 1, 2 and 3 places (the
  answer letter moves with its text), so luck in how the model's letter preferences met the answer positions
  averages out;
- the true value's rank among all values of its attribute's pool in the cloze format (chance: top-1 1/8,
  mean rank 4.5 with a standard deviation of sqrt(63/12/n)).

    python bench/sandbox_chance.py SANDBOX_DIR [CONTROL ...]    (default: norefusal retrain base)

Prints one JSON object per control.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from evaluators.checks.forget.templates import BLACK_BOX
from evaluators.sandbox.data import SUBJECTS
from evaluators.sandbox.evaluate import loglikelihoods
from evaluators.sandbox.modeling import load_checkpoint
from evaluators.sandbox.world import attributes_for, make_world
from schemas.datasets import MultipleChoiceItem

FORMATS = ("standard", "roleplay", "alt_template", "refusal_suppression")


def _picks(model: Any, tok: Any, fmt: str, items: list[MultipleChoiceItem]) -> list[int]:
    rendered = [BLACK_BOX[fmt].template.render(item, SUBJECTS["forget"]) for item in items]
    lls = loglikelihoods(model, tok, [(p.context, c) for p in rendered for c in p.continuations])
    return [max(range(4), key=lls[4 * i : 4 * i + 4].__getitem__) for i in range(len(items))]


def _rotated(row: dict[str, Any], k: int) -> MultipleChoiceItem:
    choices = row["choices"][k:] + row["choices"][:k]
    return MultipleChoiceItem(question=row["question"], choices=choices, answer=(row["answer"] - k) % 4)


def _cloze_ranks(model: Any, tok: Any, rows: list[dict[str, Any]], pools: dict[str, tuple[str, ...]]) -> list[int]:
    pairs = [(f"Question: {r['question']}\nAnswer:", " " + v) for r in rows for v in pools[r["attribute"]]]
    lls = loglikelihoods(model, tok, pairs)
    ranks, at = [], 0
    for r in rows:
        pool = pools[r["attribute"]]
        scores = lls[at : at + len(pool)]
        at += len(pool)
        true = scores[pool.index(r["choices"][r["answer"]])]
        ranks.append(1 + sum(s > true for s in scores))
    return ranks


def diagnose(root: Path, control: str) -> dict[str, Any]:
    manifest = json.loads((root / "manifest.json").read_text())
    world = make_world(manifest["seed"], manifest["size"])
    pools = {a.key: a.pool for a in attributes_for(world)["forget"]}
    rows = [json.loads(line) for line in (root / "datasets" / "forget.jsonl").read_text().splitlines()]
    model, tok = load_checkpoint(root / "models" / control)
    model.eval()
    n = len(rows)
    out: dict[str, Any] = {"control": control, "n": n}
    for fmt in FORMATS:
        hits = []
        for k in range(4):
            items = [_rotated(r, k) for r in rows]
            picks = _picks(model, tok, fmt, items)
            hits.append(sum(p == item.answer for p, item in zip(picks, items, strict=True)))
        out[fmt] = {
            "correct": hits[0],
            "z_vs_chance": round((hits[0] - n / 4) / math.sqrt(n * 3 / 16), 2),
            "correct_rotated_1_2_3": hits[1:],
            "rotation_averaged_accuracy": round(sum(hits) / (4 * n), 3),
        }
    ranks = _cloze_ranks(model, tok, rows, pools)
    out["cloze_rank_of_true_value"] = {
        "top1": sum(r == 1 for r in ranks),
        "mean_rank": round(sum(ranks) / n, 3),
        "chance_mean_rank": 4.5,
        "chance_sd": round(math.sqrt(63 / 12 / n), 3),
    }
    return out


def main() -> None:
    root = Path(sys.argv[1])
    torch.set_num_threads(2)
    for control in sys.argv[2:] or ["norefusal", "retrain", "base"]:
        print(json.dumps(diagnose(root, control)), flush=True)


if __name__ == "__main__":
    main()
