#!/usr/bin/env bash
# The GPU figures in one run on the lent device machine (see docs/benchmarks.md, "GPU").
# The machine has torch, transformers, peft, OpenCV and numpy; the wheels it lacks travel in
# .whl (ignored by git; fetched here with `pip download`, see docs/benchmarks.md), and each
# bench's output goes to $OUT. Every part has its own time limit, so one slow part cannot eat
# the whole lease.
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 ORT_DISABLE_TELEMETRY=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, diffusers, transformers; print('torch', torch.__version__, \
'diffusers', diffusers.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
run() {  # run NAME SECONDS COMMAND...: output to $OUT/NAME.txt
    local name=$1 limit=$2; shift 2
    echo "== $name ($(date +%T))"
    timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1; echo "rc=$?" >> "$OUT/$name.txt"
    grep -v "^\[transformers\]" "$OUT/$name.txt" | tail -30
}
run gpu_bench 420 python3 bench/gpu_bench.py --runs 3 --control

run live_gpu_bench 300 python3 bench/live_gpu_bench.py --rounds 5
[ -f bench/lora_bench.py ] && run lora_bench 90 python3 bench/lora_bench.py --device cuda
exit 0
