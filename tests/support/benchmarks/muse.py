"""`muse-bench/MUSE-News` and `muse-bench/MUSE-Books`: parquet files `{config}/{split}-00000-of-00001.parquet`, as
`datasets.push_to_hub` writes them, named in the card's `configs` (`path: {config}/{split}-*`).

Configs and columns: `raw` (text; forget, retain1, retain2, holdout), `verbmem` (prompt, gt; forget), `knowmem`
(question, answer; forget_qa, retain_qa and the few-shot forget_qa_icl, retain_qa_icl), `privleak` (text; forget,
retain, holdout). Checked: the configs, splits, columns, file layout and licence (CC-BY-4.0) from the published cards'
`dataset_info` and `configs` and the repositories' file lists; the splits and columns open-unlearning reads
(configs/data/datasets/MUSE_*.yaml). Assumed: the Books `knowmem` split names (`retain_qa`, `retain_qa_icl`) from
open-unlearning's configs, which read both corpora the same way (earlier Books cards named them `retain2_qa*`). Left
out: the `scal`, `sust` and `train` configs and the older `.json` files beside the parquet files, which no figure reads.
"""

from __future__ import annotations

import random

from tests.support.benchmarks import text
from tests.support.benchmarks.parquet import Feature, Split, dataset_files

NEWS_ID = "muse-bench/MUSE-News"
BOOKS_ID = "muse-bench/MUSE-Books"
SIZES = {
    ("raw", "forget"): 3,
    ("raw", "retain1"): 3,
    ("raw", "retain2"): 3,
    ("raw", "holdout"): 3,
    ("verbmem", "forget"): 6,
    ("knowmem", "forget_qa"): 6,
    ("knowmem", "forget_qa_icl"): 3,
    ("knowmem", "retain_qa"): 6,
    ("knowmem", "retain_qa_icl"): 3,
    ("privleak", "forget"): 6,
    ("privleak", "retain"): 6,
    ("privleak", "holdout"): 6,
}
COLUMNS = {"raw": ("text",), "verbmem": ("prompt", "gt"), "knowmem": ("question", "answer"), "privleak": ("text",)}
CARD_HEAD = {"license": "cc-by-4.0"}


def rows(repo: str, config: str, split: str, n: int) -> dict[str, list[object]]:
    """`n` rows of one split, column by column (deterministic per repository, config and split)."""
    rng = random.Random(f"{repo}/{config}/{split}")
    out: dict[str, list[object]] = {c: [] for c in COLUMNS[config]}
    for _ in range(n):
        if config == "verbmem":
            out["prompt"].append(text.words(rng, 6, 12))
            out["gt"].append(text.words(rng, 10, 24))
        elif config == "knowmem":
            out["question"].append(text.question(rng))
            out["answer"].append(text.words(rng, 1, 4))
        else:
            out["text"].append(". ".join(text.words(rng, 5, 10) for _ in range(3)) + ".")
    return out


def files(repo: str) -> dict[str, bytes]:
    """The repository's files: each split's parquet file and the card."""
    configs: dict[str, list[Split]] = {}
    for (config, split), n in SIZES.items():
        path = f"{config}/{split}-00000-of-00001.parquet"
        configs.setdefault(config, []).append(Split(split, path, rows(repo, config, split, n)))
    features: dict[str, list[Feature]] = {c: [{"name": n, "dtype": "string"} for n in COLUMNS[c]] for c in configs}
    return dataset_files(configs, features, CARD_HEAD, f"# {repo.split('/')[1]} (test stand-in)\n")
