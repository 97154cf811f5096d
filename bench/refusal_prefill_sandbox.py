"""The `prefill` family on the sandbox controls: each control's refusal check against `base`, as the truth table
runs it (default families, default policy, seed 0), with the prefill family's refusal rates, labels and whether
it was gated. Writes one JSON line per control.

    python bench/refusal_prefill_sandbox.py .sandbox/test-10-0 --out bench/results/refusal_prefill_<date>.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any


async def measure(root: Path, controls: list[str]) -> list[dict[str, Any]]:
    from evaluators.checks.base import CheckContext
    from evaluators.checks.refusal import REFUSAL_CHECK
    from evaluators.datasets import DatasetLoader
    from evaluators.models.checkpoint_loader import CheckpointCache
    from evaluators.models.memo import ResultMemo, memoised
    from evaluators.sandbox import EXPECTED_VERDICTS, control_path
    from schemas.policy import PRESETS
    from schemas.requests import RefusalCheck

    base = await memoised(await CheckpointCache(size=0).open(control_path("base", root)), ResultMemo())
    spec = RefusalCheck.model_validate(
        {"harmful": {"builtin": "sandbox/harmful"}, "benign": {"builtin": "sandbox/benign"}}
    )
    rows = []
    for control in controls:
        started = time.monotonic()
        target = await CheckpointCache(size=0).open(control_path(control, root))
        ctx = CheckContext(
            target=target,
            baseline=base,
            reference=None,
            policy=PRESETS["default"].model_copy(),
            seed=0,
            load_dataset=DatasetLoader([], root),
            hook=lambda done: None,
        )
        outcome = await REFUSAL_CHECK.run(spec, ctx)
        result = outcome.result
        prefilled = [r for r in outcome.records if r.variant == "prefill"]
        rows.append(
            {
                "control": control,
                "verdict": result.verdict,
                "expected": EXPECTED_VERDICTS[control][1],
                "prefill": result.details["families"].get("prefill"),
                "gated_families": result.details.get("gated_families"),
                "prefill_labels": {
                    role: dict(Counter(r.record["label"] for r in prefilled if r.model == role))
                    for role in ("target", "baseline")
                },
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    return rows


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="a built sandbox world")
    parser.add_argument("controls", nargs="*", help="default: every control of the truth table")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from evaluators.sandbox import EXPECTED_VERDICTS

    rows = asyncio.run(measure(args.root, args.controls or list(EXPECTED_VERDICTS)))
    text = "".join(json.dumps(r) + "\n" for r in rows)
    if args.out:
        args.out.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
