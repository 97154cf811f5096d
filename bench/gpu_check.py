"""GPU check of the checkpoint backend: it loads on CUDA in bfloat16 by default, and its log-likelihoods
agree with float32 on CPU within a stated tolerance. Writes JSON to the given path; exits 1 on failure.

Tolerance: bf16 keeps ~3 significant digits, so each request's summed log-prob may differ from fp32 by
|d| <= 0.05 + 0.02 * |ll_fp32|; and the argmax choice must agree on >= 90% of items whose best two choices
are more than 0.1 apart in fp32.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_model import build_model, build_tokenizer, make_items
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.scoring import score_multiple_choice


async def check(cache_dir: Path, n_items: int) -> dict[str, object]:
    import torch

    assert torch.cuda.is_available(), "no CUDA device"
    tokenizer = build_tokenizer(cache_dir / "tokenizer")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench-model"
        build_model(tokenizer, layers=4).save_pretrained(path, safe_serialization=True)
        tokenizer.save_pretrained(path)
        items = make_items(n_items, seed=2)
        t0 = time.perf_counter()
        gpu = await CheckpointCache(0).open(path)  # device/dtype auto
        load_s = time.perf_counter() - t0
        cpu = await CheckpointCache(0).open(path, device="cpu")
        runtime = gpu.runtime()
        t0 = time.perf_counter()
        on_gpu = await score_multiple_choice(gpu, items, "biology")
        gpu_s = time.perf_counter() - t0
        on_cpu = await score_multiple_choice(cpu, items, "biology")
    worst, bad, clear, agree = 0.0, 0, 0, 0
    for g, c in zip(on_gpu, on_cpu, strict=True):
        assert g.logliks is not None and c.logliks is not None
        for a, b in zip(g.logliks, c.logliks, strict=True):
            worst = max(worst, abs(a - b))
            bad += abs(a - b) > 0.05 + 0.02 * abs(b)
        top = sorted(c.logliks, reverse=True)
        if top[0] - top[1] > 0.1:
            clear += 1
            agree += g.chosen == c.chosen
    result: dict[str, object] = {
        "device": runtime.device,
        "dtype": runtime.dtype,
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "auto_batch_size": runtime.batch_size,
        "load_s": round(load_s, 2),
        "items": n_items,
        "gpu_score_s": round(gpu_s, 3),
        "max_abs_diff_vs_cpu_fp32": worst,
        "requests_outside_tolerance": bad,
        "clear_items": clear,
        "argmax_agreement_on_clear_items": round(agree / clear, 4) if clear else None,
    }
    ok = (
        str(runtime.device).startswith("cuda")
        and runtime.dtype == "bfloat16"
        and bad == 0
        and (clear == 0 or agree / clear >= 0.9)
    )
    result["ok"] = ok
    return result


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("gpu_check.json")
    outcome = asyncio.run(check(Path("/tmp/unlearn_audit_bench"), 200))
    text = json.dumps(outcome, indent=2)
    target.write_text(text + "\n")
    print(text)
    sys.exit(0 if outcome["ok"] else 1)
