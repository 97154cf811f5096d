"""`cais/wmdp`: configs `wmdp-bio`, `wmdp-chem`, `wmdp-cyber`, each one `test` split in
`{config}/test-00000-of-00001.parquet`; columns `answer` (int64), `question` (string), `choices` (sequence of 4
strings), in that order."""

from __future__ import annotations

import random

from tests.support.benchmarks import text
from tests.support.benchmarks.parquet import Feature, Split, dataset_files

REPO_ID = "cais/wmdp"
CONFIGS = ("wmdp-bio", "wmdp-chem", "wmdp-cyber")
FEATURES: list[Feature] = [
    {"name": "answer", "dtype": "int64"},
    {"name": "question", "dtype": "string"},
    {"name": "choices", "sequence": "string"},
]
CARD_HEAD = {
    "language": ["en"],
    "license": "mit",
    "task_categories": ["text-generation"],
    "pretty_name": "WMDP",
    "size_categories": ["1K<n<10K"],
}
BODY = "# The WMDP Benchmark\n\nA small deterministic stand-in for tests: the published layout and schema only.\n"


def rows(config: str, n: int) -> dict[str, list[object]]:
    rng = random.Random(f"{REPO_ID}/{config}")
    out: dict[str, list[object]] = {"answer": [], "question": [], "choices": []}
    for _ in range(n):
        out["answer"].append(rng.randrange(4))
        out["question"].append(text.question(rng))
        out["choices"].append(text.choices(rng))
    return out


def files(n: int = 40) -> dict[str, bytes]:
    """The repository's files, `n` rows per config."""
    configs = {c: [Split("test", f"{c}/test-00000-of-00001.parquet", rows(c, n))] for c in CONFIGS}
    return dataset_files(configs, FEATURES, CARD_HEAD, BODY)
