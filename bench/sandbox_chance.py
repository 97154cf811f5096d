"""Is a sandbox control's above-chance forget figure information or luck?

A control that never saw a forget fact (`retrain`, `norefusal`) answers each forget item correctly with
probability exactly 1/k for k choices: the true value is drawn uniformly from its attribute's pool, the
distractors uniformly from the rest, and the answer position is balanced. A high count in one elicitation is
then a draw, not knowledge. Two readings that a draw does not move much tell them apart:

- rotation-averaged accuracy: every item scored again with its choices rotated by 1, 2 and 3 places (the
  answer letter moves with its text), so luck in how the model's letter preferences met the answer positions
  averages out;
- the true value's rank among all values of its attribute's pool in the cloze format (chance: with pools of 8,
  top-1 1/8 and mean rank 4.5 with a standard deviation of sqrt(63/12/n)).

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

from evaluators.sandbox.data import SUBJECTS
from evaluators.sandbox.evaluate import loglikelihoods, mc_accuracy
from evaluators.sandbox.modeling import load_checkpoint
from evaluators.sandbox.world import attributes_for, make_world

FORMATS = ("standard", "roleplay", "alt_template", "refusal_suppression")


def _rotated(row: dict[str, Any], k: int) -> dict[str, Any]:
    """`row` with its choices rotated `k` places; the answer index follows its text."""
    n = len(row["choices"])
    return {**row, "choices": row["choices"][k:] + row["choices"][:k], "answer": (row["answer"] - k) % n}


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
    chance = sum(1 / len(r["choices"]) for r in rows) / n
    out: dict[str, Any] = {"control": control, "n": n, "chance": round(chance, 3)}
    for fmt in FORMATS:
        hits = [
            round(n * mc_accuracy(model, tok, [_rotated(r, k) for r in rows], SUBJECTS["forget"], fmt))
            for k in range(4)
        ]
        out[fmt] = {
            "correct": hits[0],
            "z_vs_chance": round((hits[0] - n * chance) / math.sqrt(n * chance * (1 - chance)), 2),
            "correct_rotated_1_2_3": hits[1:],
            "rotation_averaged_accuracy": round(sum(hits) / (4 * n), 3),
        }
    ranks = _cloze_ranks(model, tok, rows, pools)
    sizes = [len(pools[r["attribute"]]) for r in rows]
    out["cloze_rank_of_true_value"] = {
        "top1": sum(r == 1 for r in ranks),
        "mean_rank": round(sum(ranks) / n, 3),
        # a uniformly random rank among L values: mean (L + 1) / 2, variance (L^2 - 1) / 12
        "chance_mean_rank": round(sum((size + 1) / 2 for size in sizes) / n, 3),
        "chance_sd": round(math.sqrt(sum((size * size - 1) / 12 for size in sizes)) / n, 3),
    }
    return out


def main() -> None:
    root = Path(sys.argv[1])
    torch.set_num_threads(2)
    for control in sys.argv[2:] or ["norefusal", "retrain", "base"]:
        print(json.dumps(diagnose(root, control)), flush=True)


if __name__ == "__main__":
    main()
