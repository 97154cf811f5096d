"""The benchmark stand-ins (tests/support/benchmarks) as the `datasets` library reads them from the fake Hub:
configs, splits, row counts and features, in a subprocess whose `HF_ENDPOINT` is the fake Hub (the library reads
it at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.benchmarks import mmlu, muse, publish_benchmarks, tofu, wmdp

if TYPE_CHECKING:
    from tests.support.servers.hub import RunningHub

pytest.importorskip("datasets")

READ = """
import json
import datasets

def describe(d):
    return {name: {"rows": s.num_rows, "features": repr(s.features)} for name, s in d.items()}

out = {
    "mmlu_configs": datasets.get_dataset_config_names("cais/mmlu"),
    "wmdp_configs": datasets.get_dataset_config_names("cais/wmdp"),
    "wmdp-bio": describe(datasets.load_dataset("cais/wmdp", "wmdp-bio")),
    "college_biology": describe(datasets.load_dataset("cais/mmlu", "college_biology")),
    "all": describe(datasets.load_dataset("cais/mmlu", "all")),
    "harmbench": describe(datasets.load_dataset("walledai/HarmBench", "standard")),
    "xstest": describe(datasets.load_dataset("walledai/XSTest")),
}
out["xstest_labels"] = sorted(set(datasets.load_dataset("walledai/XSTest", split="test")["label"]))
harmbench = datasets.load_dataset("walledai/HarmBench", "standard", split="train")
out["harmbench_categories"] = sorted(set(harmbench["category"]))
out["tofu_configs"] = datasets.get_dataset_config_names("locuslab/TOFU")
out["tofu"] = describe(datasets.load_dataset("locuslab/TOFU", "forget01_perturbed"))
out["muse_configs"] = datasets.get_dataset_config_names("muse-bench/MUSE-Books")
out["muse_knowmem"] = describe(datasets.load_dataset("muse-bench/MUSE-News", "knowmem"))
print(json.dumps(out))
"""


def test_datasets_reads_the_published_layouts(hub: RunningHub, tmp_path: Path) -> None:
    shas = publish_benchmarks(hub.state)
    assert set(shas) == {
        "cais/wmdp",
        "cais/mmlu",
        "walledai/HarmBench",
        "walledai/XSTest",
        "locuslab/TOFU",
        muse.NEWS_ID,
        muse.BOOKS_ID,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_"))}
    env.update(HF_ENDPOINT=hub.url, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf"))
    done = subprocess.run([sys.executable, "-c", READ], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout)

    assert seen["wmdp_configs"] == list(wmdp.CONFIGS)
    assert seen["mmlu_configs"] == ["all", *mmlu.SUBJECTS]  # the card's order
    wmdp_features = "{'answer': Value('int64'), 'question': Value('string'), 'choices': List(Value('string'))}"
    assert seen["wmdp-bio"] == {"test": {"rows": 40, "features": wmdp_features}}
    mmlu_features = (
        "{'question': Value('string'), 'subject': Value('string'), 'choices': List(Value('string')), "
        "'answer': ClassLabel(names=['A', 'B', 'C', 'D'])}"
    )
    assert seen["college_biology"] == {
        "test": {"rows": 16, "features": mmlu_features},
        "validation": {"rows": 3, "features": mmlu_features},
        "dev": {"rows": 5, "features": mmlu_features},
    }
    n = len(mmlu.SUBJECTS)
    assert {split: s["rows"] for split, s in seen["all"].items()} == {"test": 16 * n, "validation": 3 * n, "dev": 5 * n}
    assert list(seen["harmbench"]) == ["train"]
    assert list(seen["xstest"]) == ["test"]
    assert seen["xstest_labels"] == ["safe", "unsafe"]
    assert {"chemical_biological", "cybercrime_intrusion"} <= set(seen["harmbench_categories"])
    assert seen["tofu_configs"] == list(tofu.SIZES)
    tofu_features = (
        "{'question': Value('string'), 'answer': Value('string'), 'paraphrased_answer': Value('string'), "
        "'paraphrased_question': Value('string'), 'perturbed_answer': List(Value('string'))}"
    )
    assert seen["tofu"] == {"train": {"rows": tofu.SIZES["forget01_perturbed"], "features": tofu_features}}
    assert seen["muse_configs"] == ["raw", "verbmem", "knowmem", "privleak"]
    qa = "{'question': Value('string'), 'answer': Value('string')}"
    assert seen["muse_knowmem"] == {
        split: {"rows": n, "features": qa} for (config, split), n in muse.SIZES.items() if config == "knowmem"
    }
