#!/usr/bin/env bash
# GPU check for the checkpoint backend and the MC throughput benchmark (run from the repository root).
# Needs torch (CUDA) + transformers 5.x; installs wheels found in $WHEELS (default .whl/) with --no-deps
# for the rest (see bench/README.md for the list). Leave TOKENIZERS_PARALLELISM unset: batched tokenisation
# uses every core. Writes results to $OUT (default ./out). Took 107 s on an H200.
set -uo pipefail
OUT="${OUT:-./out}"
WHEELS="${WHEELS:-.whl}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
PY="${PYTHON:-python}"
{
  echo "== environment"; date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  "$PY" -c 'import sys, torch, transformers; print(sys.version.split()[0], torch.__version__, transformers.__version__, torch.cuda.is_available())'
} 2>&1 | tee "$OUT/env.txt"
if [ -d "$WHEELS" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/unlearn_audit_site \
    "$WHEELS"/*.whl || exit 2
  export PYTHONPATH="/tmp/unlearn_audit_site:$PYTHONPATH"
fi
"$PY" -c 'import pydantic' || { echo "pydantic missing: put its wheels in $WHEELS" | tee -a "$OUT/env.txt"; exit 2; }

echo "== checkpoint backend on CUDA (bf16) vs CPU fp32"
timeout 120 "$PY" bench/gpu_check.py "$OUT/gpu_check.json" 2>&1 | tail -25 | tee "$OUT/gpu_check.log"
check=${PIPESTATUS[0]}

echo "== MC throughput, bf16, ours vs lm-eval 0.4.13 HFLM"
skip=""
"$PY" -c 'from lm_eval.models.huggingface import HFLM' 2>/dev/null || { skip="--skip-lm-eval"; echo "lm_eval not importable: ours only"; }
timeout 200 "$PY" bench/mc_throughput.py --device cuda --dtype bfloat16 --items 1000 --batch-size 64 --repeats 3 $skip \
  --out "$OUT/bench_gpu.json" 2>&1 | grep -v "pretrained\|already-initialized" | tail -40 | tee "$OUT/bench_gpu.log"
bench=${PIPESTATUS[0]}
echo "gpu_check exit $check, benchmark exit $bench"
[ "$check" -eq 0 ] && [ "$bench" -eq 0 ]
