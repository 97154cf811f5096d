#!/usr/bin/env bash
# Regenerates requirements.lock (the image's pinned, hashed dependencies) from pyproject.toml: run it after
# changing a dependency or the Dockerfile's TORCH_VERSION, and commit the result. Needs uv (`pip install uv`).
# It pins the `worker` extra (which includes `server`) and `ray`: the image runs the API, the workers, and the
# Ray cluster of the KubeRay variant (deploy/kubernetes/kuberay), whose nodes run `ray start` from it.
# torch and its CUDA wheels are left out: the Dockerfile installs torch first, from the CPU or CUDA index
# it is given, and the lock keeps the rest identical across both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
torch_version=$(sed -n 's/^ARG TORCH_VERSION=//p' Dockerfile)
constraint=$(mktemp)
trap 'rm -f "$constraint"' EXIT
echo "torch==${torch_version}" >"$constraint"
resolve=(uv pip compile pyproject.toml --extra worker --extra ray --constraint "$constraint" --python-version 3.11
  --python-platform x86_64-manylinux_2_28 --generate-hashes --quiet)
no_emit=()
for name in $("${resolve[@]}" --no-header | sed -nE 's/^(torch|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==.*/\1/p'); do
  no_emit+=(--no-emit-package "$name")
done
"${resolve[@]}" "${no_emit[@]}" --custom-compile-command "deploy/lock-requirements.sh" -o requirements.lock
