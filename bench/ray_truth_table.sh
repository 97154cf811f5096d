#!/usr/bin/env bash
# The demo's truth table (every sandbox control audited through the service) with the Ray executor: a local
# Ray head with CPUS CPUs (default 2), `serve`'s workers sending each check to it, then `ray stop`.
#   bench/ray_truth_table.sh [OUT_DIR] [SANDBOX_DIR]
# Exit status: the demo's (0 when every cell matches the truth).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-demo-ray-out}
sandbox=${2:-}
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0
ray start --head --port "$port" --num-cpus "${CPUS:-2}" --include-dashboard false --disable-usage-stats >/dev/null
trap 'ray stop --force >/dev/null' EXIT
export RAY_ADDRESS="127.0.0.1:$port" UNLEARN_AUDIT_EXECUTOR=ray
args=(demo --size test --out "$out")
if [ -n "$sandbox" ]; then args+=(--sandbox-dir "$sandbox"); fi
time unlearn-audit "${args[@]}"
