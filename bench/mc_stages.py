"""Where multiple-choice scoring time goes, stage by stage, for this project's checkpoint backend and for
lm-eval 0.4.13's HFLM, on the benchmark's model and items (see mc_throughput.py).

Ours: tokenisation (lm-eval's rules, batched), building rows, then per batch: padding on the host, the base
model, and the gathered head with log-softmax and the copy back. lm-eval: its whole `loglikelihood` call
next to the same tokenisation done its way (one `tok_encode` per context and per context+continuation).

    python bench/mc_stages.py --items 1000 --batch-size 64 --device cuda --dtype bfloat16
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bench.bench_model import build_model, build_tokenizer, make_items
from bench.mc_throughput import _sync, emit
from evaluators.scoring import STANDARD


def ours(model: Any, tokenizer: Any, items: list[Any], batch_size: int) -> dict[str, float]:
    import torch

    from evaluators.models.checkpoint import CheckpointModel
    from evaluators.models.checkpoint_batches import build_rows
    from schemas.scorecard import ModelProvenance

    backend = CheckpointModel(
        model, tokenizer, name="bench", provenance=ModelProvenance(kind="bench"), batch_size=batch_size
    )
    device = backend.device
    prompts = [STANDARD.render(it, "biology") for it in items]
    pairs = [(p.context, c) for p in prompts for c in p.continuations]
    t: dict[str, float] = {"tokenise": 0.0, "rows": 0.0, "pad_and_copy": 0.0, "base_model": 0.0, "head": 0.0}
    start = time.perf_counter()
    encoded = backend._encoder.encode_pairs(pairs)
    t["tokenise"] = time.perf_counter() - start
    start = time.perf_counter()
    rows = build_rows(encoded, backend.max_length)
    t["rows"] = time.perf_counter() - start
    base, head = backend._base, backend._head
    for position in range(0, len(rows), batch_size):
        batch = rows[position : position + batch_size]
        _sync(device)
        t0 = time.perf_counter()
        ids, _ = backend._pad([r.tokens for r in batch])
        row_idx = [b for b, r in enumerate(batch) for _ in r.targets]
        pos_idx = [tg.start for r in batch for tg in r.targets]
        rows_t = torch.tensor(row_idx, device=ids.device)
        pos_t = torch.tensor(pos_idx, device=ids.device)
        _sync(device)
        t1 = time.perf_counter()
        with torch.inference_mode():
            hidden = base(input_ids=ids).last_hidden_state
            _sync(device)
            t2 = time.perf_counter()
            torch.log_softmax(head(hidden[rows_t, pos_t]).float(), dim=-1).max(dim=-1).values.tolist()
        t3 = time.perf_counter()
        t["pad_and_copy"] += t1 - t0
        t["base_model"] += t2 - t1
        t["head"] += t3 - t2
    t["batches"] = float(-(-len(rows) // batch_size))
    t["rows_scored"] = float(len(rows))
    t["total"] = sum(v for k, v in t.items() if k not in ("batches", "rows_scored"))
    return t


def lm_eval_side(model: Any, tokenizer: Any, items: list[Any], batch_size: int) -> dict[str, float]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    hflm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size, max_length=2048)
    prompts = [STANDARD.render(it, "biology") for it in items]
    reqs = [
        Instance(request_type="loglikelihood", doc={}, arguments=(p.context, c), idx=j, metadata=("b", i, 1))
        for i, p in enumerate(prompts)
        for j, c in enumerate(p.continuations)
    ]
    device = str(hflm.device)
    start = time.perf_counter()
    for r in reqs:
        hflm._encode_pair(*r.args)
    tokenise = time.perf_counter() - start
    _sync(device)
    start = time.perf_counter()
    hflm.loglikelihood(reqs, disable_tqdm=True)
    _sync(device)
    total = time.perf_counter() - start
    return {"tokenise": tokenise, "total": total, "model_and_rest": total - tokenise}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/unlearn_audit_bench"))
    parser.add_argument("--skip-lm-eval", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    tokenizer = build_tokenizer(args.cache_dir / "tokenizer")
    model = build_model(tokenizer, layers=args.layers).to(device=args.device, dtype=getattr(torch, args.dtype))
    items = make_items(args.items, seed=1)
    ours(model, tokenizer, items[: args.batch_size], args.batch_size)  # warm-up, untimed
    result: dict[str, Any] = {"device": args.device, "dtype": args.dtype, "items": len(items)}
    result["ours_s"] = {k: round(v, 4) for k, v in ours(model, tokenizer, items, args.batch_size).items()}
    if not args.skip_lm_eval:
        lm_eval_side(model, tokenizer, items[: args.batch_size], args.batch_size)  # warm-up
        result["lm_eval_s"] = {
            k: round(v, 4) for k, v in lm_eval_side(model, tokenizer, items, args.batch_size).items()
        }
    emit(result, args.out)


if __name__ == "__main__":
    main()
