"""Small, deterministic stand-ins for the standard benchmark datasets, in their published Hub layouts and schemas,
for tests that load them through the fake Hub (tests/support/servers/hub) with `datasets` and lm-eval.

`benchmark_files()` gives each repository's files ({repo id: {path: bytes}}); `publish_benchmarks(state)` adds
them to a `HubState` as dataset repositories (one commit each) and returns {repo id: commit sha}. Text is random
words from the tiny checkpoint's training sentences, so its tokenizer covers them.

- `cais/wmdp` (wmdp.py): configs `wmdp-bio`, `wmdp-chem`, `wmdp-cyber`; split `test`;
  `{config}/test-00000-of-00001.parquet`; columns answer int64, question string, choices sequence<string> (4).
- `cais/mmlu` (mmlu.py): eight subject configs and `all`; splits `test`, `validation`, `dev` (5 rows);
  `{config}/{split}-00000-of-00001.parquet`; columns question, subject, choices sequence<string>, answer
  ClassLabel A-D (int64 in the file).
- `walledai/HarmBench` (safety.py): config `standard`, split `train`, `standard/train-00000-of-00001.parquet`;
  prompt, category (HarmBench's six semantic categories of standard behaviours).
- `walledai/XSTest` (safety.py): split `test` from `data/train-00000-of-00001.parquet`; prompt, focus, type, note,
  label (`safe`/`unsafe`).
- `locuslab/TOFU` (tofu.py): the `*_perturbed` configs TOFU's figures read, split `train`, each a JSON Lines file
  `{config}.json` at the root as TOFU publishes them; what was checked and assumed is in tofu.py.
- `muse-bench/MUSE-News`, `muse-bench/MUSE-Books` (muse.py): configs `raw`, `verbmem`, `knowmem`, `privleak`, one
  parquet file per split under the config's folder; what was checked and assumed is in muse.py.

What was checked and against what (public Hub pages and cards, lm-eval 0.4.13's task YAMLs, datasets 5.2):

- Verified: WMDP's configs, the `test` split, the file names, and the column order and types (answer int64,
  question string, choices `sequence: string`), from the dataset's commit diffs of README.md and the parquet
  pointers; lm-eval's `wmdp_*` tasks read `dataset_path: cais/wmdp`, `dataset_name: wmdp-bio` etc., `test_split:
  test`. MMLU's card features (question, subject, choices `sequence: string`, answer `class_label` A-D) and the
  splits test/validation/dev (dev: 5 rows) per subject config, `all` among the configs; lm-eval's mmlu tasks read
  `cais/mmlu` with `test_split: test`, `fewshot_split: dev`. HarmBench's config names (standard, contextual,
  copyright), split `train` and `standard/train-00000-of-00001.parquet`; that users read `prompt` and `category`;
  its category names. XSTest's columns as users read them (prompt, focus, type, label safe/unsafe) and that they
  load `split="test"`.
- Assumed: the exact `configs:` patterns of MMLU (`{config}/{split}-*`) and the other card keys; MMLU files'
  names `{split}-00000-of-00001.parquet` (seen on a mirror of the same layout); the parquet files' `huggingface`
  metadata (written here as datasets 2.x wrote it); XSTest's `note` column and type names, and that its `test`
  split is declared in the card over `data/train-*` (the Hub lists only that file, yet users load `test`).
  Left out: MMLU's `auxiliary_train` split of `all` and config of that name, HarmBench's `contextual` and
  `copyright` configs, WMDP's corpora repositories. The walledai repositories are reported gated on the Hub;
  these are public (make them gated with `HubRepo.gated` where a test needs that).
- Read back: datasets 5.2 loads each through the fake Hub with these features (ClassLabel from the file's
  metadata and the card), splits and config names (tests/hub/test_benchmark_datasets.py); lm-eval 0.4.13's
  `wmdp_bio` and `mmlu_*` tasks run on them unchanged (tests/scoring/test_lm_eval_tasks_parity.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.benchmarks import mmlu, muse, safety, tofu, wmdp

if TYPE_CHECKING:
    from tests.support.servers.hub import HubState

GITATTRIBUTES_NOTE = "# The Hub's default patterns: these files are stored with Git LFS.\n"


def benchmark_files() -> dict[str, dict[str, bytes]]:
    """{repo id: {path in repo: content}} for every stand-in dataset."""
    return {
        wmdp.REPO_ID: wmdp.files(),
        mmlu.REPO_ID: mmlu.files(),
        safety.HARMBENCH_ID: safety.harmbench_files(),
        safety.XSTEST_ID: safety.xstest_files(),
        tofu.REPO_ID: tofu.files(),
        muse.NEWS_ID: muse.files(muse.NEWS_ID),
        muse.BOOKS_ID: muse.files(muse.BOOKS_ID),
    }


def publish_benchmarks(state: HubState) -> dict[str, str]:
    """Add every stand-in as a public dataset repository on the fake Hub; {repo id: its commit sha}."""
    from tests.support.servers.hub import DEFAULT_LFS_PATTERNS, HubRepo

    attributes = GITATTRIBUTES_NOTE + "".join(
        f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in DEFAULT_LFS_PATTERNS
    )
    shas = {}
    for repo_id, files in benchmark_files().items():
        repo = HubRepo.from_files(repo_id, {".gitattributes": attributes, **files}, repo_type="dataset")
        state.add(repo)
        shas[repo_id] = repo.head().oid
    return shas


__all__ = ["benchmark_files", "mmlu", "muse", "publish_benchmarks", "safety", "tofu", "wmdp"]
