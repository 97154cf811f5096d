#!/usr/bin/env bash
# The wmdp-bio suite's per-unit costs (bench/suite_cost.py) on a GPU, with a randomly initialised model of
# Llama-2-7B's shape (32 layers, 4096 hidden, 11008 MLP, 32 heads, 32k vocabulary) in bfloat16, on synthetic
# items of WMDP's, MMLU's, HarmBench's and XSTest's shapes. Run from the repository root:
#   OUT=<dir> bash bench/suite_cost_gpu.sh          # the GPU run: about 8 minutes in all, machine start excluded
#   OUT=<dir> bash bench/suite_cost_gpu.sh --tiny   # the same path on CPU with the 2-layer model (a smoke test)
# Needs torch (CUDA) + transformers 5.x (+ peft for LoRA relearning on a 7B); installs wheels in $WHEELS
# (default .whl/) with --no-deps like gpu_check.sh. Random weights never stop early, so every generation runs
# its full max_new_tokens: generation figures are upper bounds. Writes $OUT/suite_cost_gpu.json and a log.
set -uo pipefail
OUT="${OUT:-./out}"
WHEELS="${WHEELS:-.whl}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1
PY="${PYTHON:-python}"
{
  echo "== environment"; date -u; uptime
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$PY" -c 'import sys, torch, transformers; print(sys.version.split()[0], torch.__version__, transformers.__version__, torch.cuda.is_available())'
} 2>&1 | tee "$OUT/env.txt"
if [ -d "$WHEELS" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/unlearn_audit_site \
    "$WHEELS"/*.whl || exit 2
  export PYTHONPATH="/tmp/unlearn_audit_site:$PYTHONPATH"
fi
"$PY" -c 'import pydantic' || { echo "pydantic missing: put its wheels in $WHEELS" | tee -a "$OUT/env.txt"; exit 2; }

if [ "${1:-}" = "--tiny" ]; then
  # Every unit end to end, bounded for 2 CPU cores: few items, 2 relearning steps (not the suite's 30).
  args=(--tiny --device cpu --n 10 --n-mmlu 57 --relearning-steps 2 --part-budget-s 120)
  limit=420
else
  # 32 items and prompts per dataset, 64 MMLU items per group; each part stops at 130 s (units left are
  # marked "not measured"), the whole at 470 s; model build and warm-up come first (about 30-60 s).
  args=(--model llama2-7b --device cuda --dtype bfloat16 --n 32 --n-mmlu 64 --part-budget-s 130)
  limit=470
fi
echo "== suite_cost.py ${args[*]}"
timeout "$limit" "$PY" -m bench.suite_cost "${args[@]}" --out "$OUT/suite_cost_gpu.json" 2>&1 \
  | grep -v "pretrained\|already-initialized" | tail -60 | tee "$OUT/suite_cost_gpu.log"
status=${PIPESTATUS[0]}
echo "suite_cost exit $status"
exit "$status"
