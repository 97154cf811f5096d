"""`locuslab/TOFU`: one JSON Lines file per config at the repository root (`forget01_perturbed.json`, ...), named in the
card's `configs` (`data_files: <config>.json`, so the split is `train`).

Columns: the forget and retain sets (`forget01|05|10_perturbed`, `retain_perturbed`) hold question, answer,
paraphrased_answer, paraphrased_question and perturbed_answer (5 strings); the real-author and world-fact sets
(`real_authors_perturbed`, `world_facts_perturbed`) hold question, option1-option4, answer, paraphrased_answer and
perturbed_answer (3 strings). Checked: the file names and configs from the repository's file list and card, the
columns open-unlearning reads (configs/data/datasets/TOFU_QA_*.yaml: question, answer, paraphrased_answer,
perturbed_answer). Assumed: the other columns and the perturbation counts, from TOFU's original data loader.
"""

from __future__ import annotations

import json
import random

import yaml

from tests.support.benchmarks import text

REPO_ID = "locuslab/TOFU"
SIZES = {
    "forget01_perturbed": 6,
    "forget05_perturbed": 10,
    "forget10_perturbed": 14,
    "retain_perturbed": 12,
    "real_authors_perturbed": 8,
    "world_facts_perturbed": 8,
}
CARD_HEAD = {
    "language": ["en"],
    "license": "mit",
    "pretty_name": "TOFU",
    "size_categories": ["1K<n<10K"],
    "task_categories": ["question-answering"],
}


def _answer(rng: random.Random) -> str:
    return text.words(rng, 2, 5)


def rows(config: str, n: int) -> list[dict[str, object]]:
    rng = random.Random(f"{REPO_ID}/{config}")
    out: list[dict[str, object]] = []
    for _ in range(n):
        question, answer = text.question(rng), _answer(rng)
        if config.startswith(("real_authors", "world_facts")):
            wrong = [_answer(rng) for _ in range(3)]
            options = [answer, *wrong]
            rng.shuffle(options)
            row: dict[str, object] = {"question": question}
            row |= {f"option{i + 1}": o for i, o in enumerate(options)}
            row |= {"answer": answer, "paraphrased_answer": answer, "perturbed_answer": wrong}
        else:
            row = {
                "question": question,
                "answer": answer,
                "paraphrased_answer": _answer(rng),
                "paraphrased_question": text.question(rng),
                "perturbed_answer": [_answer(rng) for _ in range(5)],
            }
        out.append(row)
    return out


def files() -> dict[str, bytes]:
    """The repository's files: each config's JSON Lines file and the card."""
    out = {
        f"{config}.json": "".join(json.dumps(r) + "\n" for r in rows(config, n)).encode() for config, n in SIZES.items()
    }
    configs = [{"config_name": c, "data_files": f"{c}.json"} for c in SIZES]
    front = {**CARD_HEAD, "configs": configs}
    body = "# TOFU: Task of Fictitious Unlearning (test stand-in)\n"
    out["README.md"] = ("---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n\n" + body).encode()
    return out
