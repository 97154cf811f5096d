"""`cais/mmlu`: one config per subject plus `all`, splits `test`, `validation`, `dev` (5 rows) in
`{config}/{split}-00000-of-00001.parquet`; columns `question` (string), `subject` (string), `choices` (sequence of
4 strings), `answer` (ClassLabel A-D, stored as int64). `all` holds every subject's rows, subject by subject."""

from __future__ import annotations

import random

from evaluators.benchmark_suites import MMLU_SUBJECTS
from tests.support.benchmarks import text
from tests.support.benchmarks.parquet import Feature, Split, dataset_files

REPO_ID = "cais/mmlu"
SUBJECTS = MMLU_SUBJECTS
"""All 57 subjects, so a suite that names every one of them finds its configs."""
SPLITS = ("test", "validation", "dev")
FEATURES: list[Feature] = [
    {"name": "question", "dtype": "string"},
    {"name": "subject", "dtype": "string"},
    {"name": "choices", "sequence": "string"},
    {"name": "answer", "dtype": {"class_label": {"names": {"0": "A", "1": "B", "2": "C", "3": "D"}}}},
]
CARD_HEAD = {
    "annotations_creators": ["no-annotation"],
    "language_creators": ["expert-generated"],
    "language": ["en"],
    "license": ["mit"],
    "multilinguality": ["monolingual"],
    "size_categories": ["10K<n<100K"],
    "source_datasets": ["original"],
    "task_categories": ["question-answering"],
    "task_ids": ["multiple-choice-qa"],
    "paperswithcode_id": "mmlu",
    "pretty_name": "Measuring Massive Multitask Language Understanding",
    "language_bcp47": ["en-US"],
}
BODY = "# Dataset Card for MMLU\n\nA small deterministic stand-in for tests: the published layout and schema only.\n"


def rows(subject: str, split: str, n: int) -> dict[str, list[object]]:
    rng = random.Random(f"{REPO_ID}/{subject}/{split}")
    out: dict[str, list[object]] = {"question": [], "subject": [], "choices": [], "answer": []}
    for _ in range(n):
        out["question"].append(text.question(rng))
        out["subject"].append(subject)
        out["choices"].append(text.choices(rng))
        out["answer"].append(rng.randrange(4))
    return out


def files(n_test: int = 16, n_validation: int = 3) -> dict[str, bytes]:
    """The repository's files: `n_test` test rows and `n_validation` validation rows per subject, 5 dev rows."""
    sizes = {"test": n_test, "validation": n_validation, "dev": 5}
    per_subject = {s: {split: rows(s, split, sizes[split]) for split in SPLITS} for s in SUBJECTS}
    configs: dict[str, list[Split]] = {}
    for config in ("all", *SUBJECTS):  # `all` first, then the subjects in order
        splits = []
        for split in SPLITS:
            if config == "all":
                merged = {
                    k: [v for s in SUBJECTS for v in per_subject[s][split][k]] for k in per_subject[SUBJECTS[0]][split]
                }
            else:
                merged = per_subject[config][split]
            splits.append(Split(split, f"{config}/{split}-00000-of-00001.parquet", merged))
        configs[config] = splits
    return dataset_files(configs, FEATURES, CARD_HEAD, BODY)
