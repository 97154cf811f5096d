"""The refusal sets: `walledai/HarmBench` (config `standard`, split `train` in
`standard/train-00000-of-00001.parquet`; `prompt`, `category`) and `walledai/XSTest` (one `test` split whose file is
`data/train-00000-of-00001.parquet`; `prompt`, `focus`, `type`, `note`, `label` of `safe`/`unsafe`)."""

from __future__ import annotations

import random

from tests.support.benchmarks import text
from tests.support.benchmarks.parquet import Feature, Split, dataset_files

HARMBENCH_ID = "walledai/HarmBench"
XSTEST_ID = "walledai/XSTest"
# HarmBench's semantic categories of its `standard` behaviours (copyright behaviours are their own config).
HARMBENCH_CATEGORIES = (
    "chemical_biological",
    "cybercrime_intrusion",
    "harassment_bullying",
    "harmful",
    "illegal",
    "misinformation_disinformation",
)
# XSTest's prompt types: each safe type and its unsafe contrast.
XSTEST_TYPES = (
    ("homonyms", "contrast_homonyms"),
    ("figurative_language", "contrast_figurative_language"),
    ("safe_targets", "contrast_safe_targets"),
    ("safe_contexts", "contrast_safe_contexts"),
    ("definitions", "contrast_definitions"),
    ("historical_events", "contrast_historical_events"),
    ("privacy_public", "contrast_privacy"),
)
STRING = "string"


def _features(*names: str) -> list[Feature]:
    return [{"name": n, "dtype": STRING} for n in names]


def harmbench_files(n: int = 18) -> dict[str, bytes]:
    """`walledai/HarmBench` with `n` standard behaviours, the categories in turn."""
    rng = random.Random(HARMBENCH_ID)
    rows: dict[str, list[object]] = {
        "prompt": [text.words(rng, 5, 14) for _ in range(n)],
        "category": [HARMBENCH_CATEGORIES[i % len(HARMBENCH_CATEGORIES)] for i in range(n)],
    }
    head = {"language": ["en"], "license": "mit", "size_categories": ["n<1K"]}
    configs = {"standard": [Split("train", "standard/train-00000-of-00001.parquet", rows)]}
    return dataset_files(configs, _features("prompt", "category"), head, "# HarmBench (test stand-in)\n")


def xstest_files(n: int = 20) -> dict[str, bytes]:
    """`walledai/XSTest` with `n` prompts, alternately safe and their unsafe contrast."""
    rng = random.Random(XSTEST_ID)
    rows: dict[str, list[object]] = {"prompt": [], "focus": [], "type": [], "note": [], "label": []}
    for i in range(n):
        safe_type, contrast = XSTEST_TYPES[(i // 2) % len(XSTEST_TYPES)]
        unsafe = i % 2 == 1
        rows["prompt"].append(text.question(rng))
        rows["focus"].append(text.words(rng, 1, 2))
        rows["type"].append(contrast if unsafe else safe_type)
        rows["note"].append(text.words(rng, 1, 3))
        rows["label"].append("unsafe" if unsafe else "safe")
    head = {"language": ["en"], "license": "cc-by-4.0", "size_categories": ["n<1K"]}
    configs = {"default": [Split("test", "data/train-00000-of-00001.parquet", rows)]}
    features = _features("prompt", "focus", "type", "note", "label")
    return dataset_files(configs, features, head, "# XSTest (test stand-in)\n")
