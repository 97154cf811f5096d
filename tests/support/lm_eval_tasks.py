"""Run lm-eval's own task definitions in this process and write each sample's scores as JSON; run it as a script
(`python tests/support/lm_eval_tasks.py CHECKPOINT OUT TASK...`) in a subprocess whose environment points
`HF_ENDPOINT` at the Hub the datasets come from.

It evaluates as `lm_eval --model hf --model_args pretrained=CHECKPOINT,dtype=float32 --device cpu --tasks …
--log_samples` does (each task's own few-shot setting, default BOS) and writes

    {"lm_eval": version, "configs": {task: {dataset_path, dataset_name, description, num_fewshot}},
     "samples": {task: [{"doc_id", "context", "logliks": [per choice], "acc"}, …] (by doc_id)}}

Self-contained (no imports from this repository): lm-eval must see only its own code and the Hub.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run(checkpoint: str, tasks: list[str]) -> dict[str, Any]:
    import lm_eval

    out = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={checkpoint},dtype=float32",
        tasks=tasks,
        device="cpu",
        batch_size=8,
        log_samples=True,
        cache_requests=False,
    )
    if out is None:
        raise SystemExit("lm-eval returned no results")
    configs = {
        task: {k: out["configs"][task].get(k) for k in ("dataset_path", "dataset_name", "description", "num_fewshot")}
        for task in tasks
    }
    samples = {
        task: [
            {
                "doc_id": s["doc_id"],
                "context": s["arguments"][0][0],
                "logliks": [float(r[0]) for r in s["filtered_resps"]],
                "acc": float(s["acc"]),
            }
            for s in sorted(out["samples"][task], key=lambda s: s["doc_id"])
        ]
        for task in tasks
    }
    return {"lm_eval": lm_eval.__version__, "configs": configs, "samples": samples}


if __name__ == "__main__":
    checkpoint, target, *task_names = sys.argv[1:]
    Path(target).write_text(json.dumps(run(checkpoint, task_names)))
