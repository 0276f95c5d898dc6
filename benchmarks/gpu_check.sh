#!/usr/bin/env bash
# One prepared GPU check for mi_probe's KeOps/torch backends (issue 8), about 6 minutes at most (8.5 worst case).
#
# On the device machine (H100/H200 image: torch, numpy, scipy, sklearn, pytest present;
# pykeops + keopscore travel as wheels in .whl/, carried):
#     bash benchmarks/gpu_check.sh
# Here, on a CPU machine, as a dry run of every step (no wheels, small sizes):
#     bash benchmarks/gpu_check.sh --cpu
#
# Logs go to $OUT (or out/gpu_check): env.txt, health.txt, test_gpu.log, bench.log,
# gpu_table.md, gpu.json, test_keops.log (7 files). Each step has its own timeout, so a
# hang in one still leaves the others' logs.
set -u
MODE="${1:-gpu}"
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/out/gpu_check}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
T0=$(date +%s)
step() { echo "== [$(( $(date +%s) - T0 )) s] $*"; }

if [ "$MODE" = "--cpu" ]; then
    PY="${PYTHON:-python}"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    BENCH_ARGS="--cpu --small --budget 60 --case-timeout 10 --ops knn_max,count_max,lse,ksg,ksg_e2e,kde_entropy"
    GPU_FLAG="--run-gpu"
else
    PY=python3
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || { echo "wheel install failed" | tee "$OUT/env.txt"; exit 1; }
    export PYTHONPATH="/tmp/site:$PWD"
    BENCH_ARGS="--budget ${BENCH_BUDGET:-110} --case-timeout ${CASE_TIMEOUT:-25} ${BENCH_OPS:+--ops $BENCH_OPS}"
    GPU_FLAG="--run-gpu"
fi

step "environment"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
    echo "CXX=${CXX:-<unset>}  g++=$(command -v g++)  uname=$(uname -r)"
    "$PY" -c "import sys, torch, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numpy', numpy.__version__)"
    "$PY" -c "import importlib.metadata as m; print('pykeops', m.version('pykeops'), 'keopscore', m.version('keopscore'))" 2>&1
} >> "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

step "KeOps compiler detection and health check (subprocess)"
timeout 120 "$PY" - > "$OUT/health.txt" 2>&1 <<'EOF'
import os, time
from mi_probe.backends import _health as h
import torch  # the libstdc++ the user's process holds
cxx = os.environ.get("CXX") or "g++"
print("CXX before:", os.environ.get("CXX"))
print("compiler libstdc++:", h.compiler_libstdcxx(cxx))
print("/usr/bin/g++ libstdc++:", h.compiler_libstdcxx("/usr/bin/g++"))
print("loaded libstdc++:", h.loaded_libstdcxx())
c = h.configure_compiler()
print("choice:", c)
print("CXX after:", os.environ.get("CXX"), "KEOPS_CACHE_FOLDER:", os.environ.get("KEOPS_CACHE_FOLDER"))
t = time.perf_counter()
v = h.keops_health(warn=False)
print(f"verdict ({time.perf_counter() - t:.1f} s):", v)
EOF
echo "rc=$?" >> "$OUT/health.txt"
cat "$OUT/health.txt"

step "pytest tests/test_gpu.py"
timeout ${GPU_TEST_TIMEOUT:-100} "$PY" -m pytest -q -p no:cacheprovider $GPU_FLAG ${GPU_TESTS:-tests/test_gpu.py} > "$OUT/test_gpu.log" 2>&1
echo "rc=$?" >> "$OUT/test_gpu.log"
tail -n 25 "$OUT/test_gpu.log"

step "benchmarks/gpu.py $BENCH_ARGS"
timeout ${BENCH_TIMEOUT:-200} "$PY" benchmarks/gpu.py $BENCH_ARGS --out "$OUT" > "$OUT/bench.log" 2>&1
echo "rc=$?" >> "$OUT/bench.log"
cat "$OUT/bench.log"

if [ -z "${SKIP_KEOPS_CPU:-}" ]; then
step "pytest tests/test_keops.py (KeOps on the CPU of that machine, health fakes)"
timeout 80 "$PY" -m pytest -q -p no:cacheprovider $GPU_FLAG tests/test_keops.py > "$OUT/test_keops.log" 2>&1
echo "rc=$?" >> "$OUT/test_keops.log"
tail -n 15 "$OUT/test_keops.log"
fi

step "done"
