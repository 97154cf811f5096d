"""What the forget check costs per 1,000 items on the checkpoint backend.

    python bench/forget_cost.py [--checkpoint DIR] [--items N] [--threads T] [--device D] [--attacks a,b,...]

Without --checkpoint it builds the tests' tiny 2-layer Llama (64 hidden) in a temporary directory. It runs
the whole check (every black-box format on target and baseline; white-box attacks on both) on N fictional
four-choice items with the default relearning budget, and prints seconds per elicitation group and the
total scaled to 1,000 items. Scaling is linear in items for scoring, while relearning's cost is set by
its step budget (per fold and run), not by the item count: the scaled figure is an upper bound for it.

Measured (2026-11-28, tiny 2-layer Llama, 1,000 items, default budget, target only; a baseline doubles it):
- H200 GPU (torch 2.11): all elicitations 13.2 s per 1,000 items (generation 5.3 s, relearning 6.1 s of
  which training 4.4 s for 10 runs of 30 steps on cuda:0).
- 16 CPU cores, 8 threads: standard 1.1 s, cloze 2.1 s, few-shot 1.2 s, relearning 7.4 s, quantization
  0.8 s, probe 0.5 s per 1,000 items.
- 2 shared CPU cores (8 jobs running), 1 thread, 100 items: all 27.4 s, of which relearning 19.9 s.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import torch

from evaluators.checks.base import CheckContext, LoadedDataset
from evaluators.checks.forget.check import BLACK_BOX_ATTACKS, FORGET_CHECK, WHITE_BOX_ATTACKS
from evaluators.models.checkpoint_loader import CheckpointCache
from schemas.datasets import DatasetRef, MultipleChoiceItem
from schemas.policy import Policy
from schemas.requests import ForgetCheck


def fictional_items(n: int) -> list[MultipleChoiceItem]:
    return [
        MultipleChoiceItem(
            question=f"Which vault does agent Q{i:04d} guard?",
            choices=[f"vault {i}-{c}" for c in range(4)],
            answer=(i * 7) % 4,
        )
        for i in range(n)
    ]


async def measure(checkpoint: Path, n: int, attacks: list[str], device: str) -> dict[str, float]:
    items = fictional_items(n)
    model = await CheckpointCache(1).open(checkpoint, device=device)
    print(f"model on {model.device}, {sum(p.numel() for p in model.torch_model.parameters())} parameters")

    def load(ref: DatasetRef, kind: str) -> LoadedDataset:
        return LoadedDataset("bench", "multiple_choice", items, "0" * 64, "bench")

    out: dict[str, float] = {}
    # The first pass warms up (allocator, kernels, tokenizer caches) and is not counted.
    for attack in ["warmup", "standard", *attacks]:
        spec = ForgetCheck(
            dataset=DatasetRef(builtin="sandbox/forget"),
            subject="spycraft",
            attacks=[] if attack in ("warmup", "standard") else [attack],
        )
        # Target only: a baseline runs the same work again (about twice the figures below).
        ctx = CheckContext(
            target=model,
            baseline=None,
            reference=None,
            policy=Policy(),
            seed=0,
            load_dataset=load,
            hook=lambda done: None,
        )
        started = time.perf_counter()
        result = (await FORGET_CHECK.run(spec, ctx)).result
        out[attack] = time.perf_counter() - started
        for name, settings in result.details.get("elicitations", {}).items():
            if "device" in settings or "label" in settings:
                keep = ("method", "device", "steps", "seconds", "label", "scheme")
                print(f"  {name}: " + ", ".join(f"{k}={settings[k]}" for k in keep if k in settings))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    parser.add_argument("--attacks", default=",".join([*BLACK_BOX_ATTACKS, *WHITE_BOX_ATTACKS]))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    attacks = [a for a in args.attacks.split(",") if a]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            from tests.support.models import build_tiny_checkpoint

            checkpoint = build_tiny_checkpoint(Path(tmp) / "tiny")
        seconds = asyncio.run(measure(checkpoint, args.items, attacks, args.device))
    standard = seconds["standard"]
    print(f"checkpoint={checkpoint} items={args.items} threads={args.threads} (target only)")
    print(f"{'elicitation':24s} {'s (run)':>9s} {'s/1000 items':>13s}")
    print(f"{'standard':24s} {standard:9.2f} {standard * 1000 / args.items:13.2f}")
    for attack in attacks:
        extra = max(0.0, seconds[attack] - standard)  # each run repeats `standard`
        print(f"{attack:24s} {extra:9.2f} {extra * 1000 / args.items:13.2f}")
    total = standard + sum(max(0.0, seconds[a] - standard) for a in attacks)
    print(f"{'all (one model)':24s} {total:9.2f} {total * 1000 / args.items:13.2f}")


if __name__ == "__main__":
    main()
