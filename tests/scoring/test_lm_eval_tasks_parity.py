"""Per-item parity with lm-eval 0.4.13's *own* task definitions (`wmdp_bio`, `mmlu_<subject>`), zero-shot,
`--model hf` on the tiny checkpoint, with the datasets fetched by `datasets` from the fake Hub (the stand-ins of
tests/support/benchmarks in their published layouts). Our side is the `wmdp-bio` suite: its own dataset refs,
resolved and fetched from the same Hub into the cache and read by the job's loader, scored with
`score_multiple_choice(..., template=STANDARD)` under the subject line the suite names.

Tolerance as in test_lm_eval_parity.py: per-choice log-likelihoods within 1e-4, equal correctness, except items
whose two best choices lie within 1e-4 of each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from evaluators.benchmark_suites import wmdp_checks
from evaluators.datasets import DatasetLoader
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.registries.cache import ModelCache
from evaluators.registries.dataset_fetch import fetch_hub_dataset, hub_ref_key
from evaluators.registries.hub import HubAccess
from evaluators.scoring import STANDARD, score_multiple_choice
from evaluators.scoring.templates import MMLU_DESCRIPTION
from schemas.datasets import DatasetRef, MultipleChoiceItem
from tests.support.benchmarks import publish_benchmarks

if TYPE_CHECKING:
    from tests.support.servers.hub import RunningHub

pytest.importorskip("lm_eval")
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNNER = REPO_ROOT / "tests" / "support" / "lm_eval_tasks.py"
# lm-eval task -> (dataset repo, config, the subject our description names)
TASKS = {
    "wmdp_bio": ("cais/wmdp", "wmdp-bio", "biology"),
    "mmlu_college_biology": ("cais/mmlu", "college_biology", "college biology"),
    "mmlu_virology": ("cais/mmlu", "virology", "virology"),
    "mmlu_high_school_geography": ("cais/mmlu", "high_school_geography", "high school geography"),
}
TOLERANCE = 1e-4


async def load_suite_items(hub: RunningHub, tmp_path: Path) -> dict[str, tuple[list[MultipleChoiceItem], str]]:
    """Our side: the `wmdp-bio` suite's own dataset refs (forget set and MMLU subjects) for each task, resolved on
    the Hub, fetched into a cache and read by the job's loader, as a worker does; with each ref's subject."""
    checks = wmdp_checks("wmdp-bio", n_min=50)
    assert checks.forget is not None and checks.collateral is not None
    refs: dict[str, tuple[DatasetRef, str]] = {"wmdp_bio": (checks.forget.dataset, checks.forget.subject)}
    for ref in checks.collateral.datasets:
        assert ref.hub is not None and ref.subject is not None
        refs[f"mmlu_{ref.hub.config}"] = (ref, ref.subject)
    access = HubAccess(endpoint=hub.url)
    cache = ModelCache(tmp_path / "cache", 10**9)
    fetched = {}
    for task in TASKS:
        ds = refs[task][0].hub
        assert ds is not None
        fetched[hub_ref_key(ds)] = await fetch_hub_dataset(ds, None, access, cache)
    loader = DatasetLoader([], None, hub=fetched)
    out = {}
    for task in TASKS:
        suite_ref, subject = refs[task]
        loaded = loader(suite_ref, "multiple_choice")
        out[task] = ([MultipleChoiceItem.model_validate(item.model_dump()) for item in loaded.items], subject)
    for one in fetched.values():
        one.release()
    return out


def run_lm_eval(hub: RunningHub, checkpoint: Path, tmp_path: Path) -> dict[str, Any]:
    """lm-eval's tasks in one subprocess whose only Hub is the fake one (fresh caches, no token, no Xet)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    home = tmp_path / "hf-home"
    env.update(
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(home),
        HF_DATASETS_CACHE=str(home / "datasets"),
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
    )
    out = tmp_path / "lm_eval_samples.json"
    command = [sys.executable, str(RUNNER), str(checkpoint), str(out), *TASKS]
    done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


async def test_lm_eval_tasks_per_item_parity(hub: RunningHub, tiny_checkpoint: Path, tmp_path: Path) -> None:
    publish_benchmarks(hub.state)
    theirs = run_lm_eval(hub, tiny_checkpoint, tmp_path)

    # lm-eval read every task's data from the fake Hub (the CDN served the parquet files).
    resolved = [r.path for r in hub.requests if r.server == "hub" and "/resolve/" in r.path]
    for repo_id, config, _ in TASKS.values():
        wanted = f"/{config}/test-00000-of-00001.parquet"
        assert any(p.startswith(f"/datasets/{repo_id}/resolve/") and p.endswith(wanted) for p in resolved), config

    suite = await load_suite_items(hub, tmp_path)
    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=8)
    compared = 0
    for task, (repo_id, config, subject) in TASKS.items():
        setting = theirs["configs"][task]
        assert (setting["dataset_path"], setting["dataset_name"]) == (repo_id, config)
        assert setting["num_fewshot"] == 0
        assert setting["description"] == MMLU_DESCRIPTION.format(subject=subject)

        items, suite_subject = suite[task]
        assert suite_subject == subject  # the suite names lm-eval's subject line
        samples = theirs["samples"][task]
        assert [s["doc_id"] for s in samples] == list(range(len(items)))
        ours = await score_multiple_choice(model, items, subject, template=STANDARD)
        for sample, score in zip(samples, ours, strict=True):
            assert sample["context"] == score.context, f"{task} item {score.index}: another prompt"
            assert score.logliks is not None
            top = sorted(sample["logliks"], reverse=True)
            if top[0] - top[1] < TOLERANCE:
                continue
            compared += 1
            detail = f"{task} item {score.index}: ours {score.logliks} lm-eval {sample['logliks']}"
            assert score.correct == bool(sample["acc"]), detail
            assert score.logliks == pytest.approx(sample["logliks"], abs=TOLERANCE), detail
    assert compared >= 60
