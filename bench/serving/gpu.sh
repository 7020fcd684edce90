#!/usr/bin/env bash
# The GPU serving benchmark: axon-serve with examples/pytorch-gpu on this machine's GPU, unbatched vs batched.
#
#   bench/serving/gpu.sh [--seconds 10] [--connections 128] [--repeat 2]
#
# Needs: an NVIDIA GPU and driver (nvidia-smi), the project's environment (make install) with torch built for CUDA
# in it, and wrk. It trains the example's weights if they are missing, then runs python -m bench.serving.gpu_example,
# which writes bench/serving/GPU.md. Offline if torch is already installed; otherwise it installs the example's
# pinned torch from the CUDA 12.6 wheel index (as the GPU serving image does), which needs the network.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
EXAMPLE=examples/pytorch-gpu

command -v nvidia-smi >/dev/null || { echo "gpu.sh: no nvidia-smi: this benchmark needs an NVIDIA GPU" >&2; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
command -v wrk >/dev/null || { echo "gpu.sh: wrk is not installed (Debian: apt-get install -y wrk)" >&2; exit 1; }
test -x "$PY" || { echo "gpu.sh: $PY not found: run make install first (or set PY)" >&2; exit 1; }

if ! "$PY" -c 'import torch' 2>/dev/null; then
  "$PY" -m pip install --index-url https://download.pytorch.org/whl/cu126 -r "$EXAMPLE/requirements.txt"
fi
"$PY" -c 'import torch, sys; ok = torch.cuda.is_available(); print("torch", torch.__version__, "cuda", ok); sys.exit(0 if ok else 1)' \
  || { echo "gpu.sh: torch sees no CUDA device" >&2; exit 1; }

test -f "$EXAMPLE/model/weights.pt" || "$PY" "$EXAMPLE/train.py"
exec "$PY" -m bench.serving.gpu_example "$@"
