"""What a `wmdp-bio` audit costs per unit, measured on synthetic items, and extrapolated to the full suite.

    python -m bench.suite_cost --tiny --n 16 --out suite_cost.json               # minutes on 2 CPU cores
    python -m bench.suite_cost --n 8 --out suite_cost.json                        # the 105.8M bench model
    python -m bench.suite_cost --checkpoint DIR --n 32 --device cuda --dtype bfloat16
    python -m bench.suite_cost --model llama2-7b --device cuda --dtype bfloat16 --n 32   # bench/suite_cost_gpu.sh

It runs the suite's own checks (`evaluators.benchmark_suites.wmdp_checks("wmdp-bio", n_min)`) through
`evaluators/` alone (no service, no Hub): every Hub dataset is replaced by inline synthetic items of the real
dataset's shape, kept with the suite's filters, subjects, groups and adjacency, and subsampled by the loader's
seeded `Sample`. Target and baseline are the same model object passed twice (nothing is memoised between the
roles: the checks do the baseline's work again, as on two copies, without a second copy's memory).

Units, each timed on both roles together:
- forget: one FORGET_CHECK run per elicitation/attack (the check's own `details.seconds`); relearning's
  training (steps x folds x runs, set by the budget, not by the item count) and quantization's copy+quantize
  are fixed costs, the rest scales with items;
- refusal: generation (`max_new_tokens`, greedy) per prompt, per variant family, through the check's own
  request builder and `generate_and_judge`; then the whole REFUSAL_CHECK once, for the total;
- collateral: the whole COLLATERAL_CHECK over MMLU's 57 subjects in the suite's two pooled groups, per item.

Synthetic shapes (assumptions, words drawn from bench_model's syllable vocabulary): WMDP-bio questions 30-60
words, choices 1-15 words; MMLU questions 10-100 words, choices 1-12 words, `--mmlu-per-subject` items per
subject; HarmBench behaviours 8-30 words over its six standard categories (HARMBENCH_CATEGORY_COUNTS, an
assumption); XSTest prompts 5-15 words, 250 `safe` and 200 `unsafe`. The forget items' answers are set to the
baseline's own standard-format choice (an untimed pass), so the baseline "knows" the material and the check
runs every attack instead of stopping at `baseline_lacks_knowledge` (timing does not depend on the answers).

Random weights never emit EOS early, so every generation runs its full `max_new_tokens`: generation figures
are upper bounds. Small samples make per-item figures pessimistic where batches are not full.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from bench.wmdp_cost.extrapolate import extrapolation, table
from bench.wmdp_cost.measure import Bench
from bench.wmdp_cost.models import open_model
from bench.wmdp_cost.synthetic import HARMBENCH_CATEGORY_COUNTS, SHAPES, Synth, synthetic_checks, wmdp_pool
from bench.wmdp_cost.units import FULL_SUITE_COUNTS, SUITE
from evaluators.benchmark_suites import WMDP_DOMAINS, wmdp_checks
from evaluators.checks.forget.check import BLACK_BOX_ATTACKS, WHITE_BOX_ATTACKS
from evaluators.checks.refusal.variants import BUILTIN_FAMILIES
from schemas.policy import Policy


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the parts `args` asks for, print the table, and return the result file's content."""
    load_start = os.getloadavg()
    began = time.perf_counter()
    model, described = await open_model(args)
    print(f"model: {described}", flush=True)
    synth = Synth(args.seed)
    suite = wmdp_checks(SUITE, Policy().n_min)
    checks = synthetic_checks(suite, synth, wmdp_pool(synth, args.wmdp_pool), args.mmlu_per_subject)
    if args.relearning_steps is not None and checks.forget is not None:  # smoke runs only: not the suite's budget
        budget = checks.forget.relearning.model_copy(update={"steps": args.relearning_steps})
        checks.forget = checks.forget.model_copy(update={"relearning": budget})
    bench = Bench(model, args)
    parts = [p for p in args.parts.split(",") if p]
    attacks = [a for a in args.attacks.split(",") if a]
    families = [f for f in args.families.split(",") if f]
    if "forget" in parts:
        await bench.forget(checks.forget, attacks)
    if "refusal" in parts:
        await bench.refusal(checks.refusal, families)
    if "collateral" in parts:
        await bench.collateral(checks.collateral)
    extra = extrapolation(bench.units)
    print(table(bench.units, extra))
    return {
        "benchmark": "suite_cost.py",
        "suite": SUITE,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "model": described,
        "roles": "target and baseline are the same model object passed twice (work done twice, one copy in memory)",
        "settings": {
            "n": args.n,
            "n_mmlu_per_group": args.n_mmlu,
            "seed": args.seed,
            "wmdp_pool": args.wmdp_pool,
            "mmlu_per_subject": args.mmlu_per_subject,
            "part_budget_s": args.part_budget_s,
            "attacks": attacks,
            "relearning": checks.forget.relearning.model_dump() if checks.forget else None,
            "families": families,
            "shapes_words": SHAPES,
            "harmbench_category_counts_assumed": HARMBENCH_CATEGORY_COUNTS,
            "domain": WMDP_DOMAINS[SUITE].__dict__,
        },
        "selection": bench.selection,
        "measured": [u.as_dict() for u in bench.units],
        "extrapolated": extra,
        "caveats": [
            "random weights never stop early: every generation runs its full max_new_tokens (upper bounds)",
            "small samples leave batches part-full: per-item figures are pessimistic against full-size runs",
            "relearning's training and quantization's copy are fixed costs, added once in the extrapolation",
        ],
        "wall_s": round(time.perf_counter() - began, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the 2-layer 64-hidden model (same as --model tiny)")
    parser.add_argument("--model", choices=("tiny", "bench", "llama2-7b"), default="bench")
    parser.add_argument("--checkpoint", type=Path, help="a saved model instead of a random one")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto (float32 for random models), float32, bfloat16")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--n", type=int, default=16, help="Sample.n: items (prompts) drawn per dataset (>= 5 folds)")
    parser.add_argument("--n-mmlu", type=int, default=57, help="Sample.n per MMLU group (collateral)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--wmdp-pool", type=int, default=FULL_SUITE_COUNTS["wmdp_bio"])
    parser.add_argument("--mmlu-per-subject", type=int, default=4)
    parser.add_argument("--parts", default="forget,refusal,collateral")
    parser.add_argument("--attacks", default=",".join([*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]))
    parser.add_argument("--relearning-steps", type=int, help="override the suite's relearning steps (smoke runs)")
    parser.add_argument("--families", default=",".join(BUILTIN_FAMILIES))
    parser.add_argument("--part-budget-s", type=float, default=600.0, help="time budget of each part")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/unlearn_audit_bench"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.tiny:
        args.model = "tiny"
    if args.threads:
        torch.set_num_threads(args.threads)
    result = asyncio.run(run(args))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
