#!/usr/bin/env bash
# The GPU benchmarks in one short run (docs/gpu.md): the sparse scale benchmark at 10^5 and 10^6 goods, then the
# throughput benchmark at GPU-sized batches, then `jplan study gpu`; reports and logs go to $OUT (default ./gpu-results).
# Run from the repository root on a machine whose JAX sees the GPU:  bash benchmarks/gpu.sh
set -uo pipefail
OUT=${OUT:-gpu-results}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# the scale benchmark starts one process per side: none may take 75% of the GPU up front
export XLA_PYTHON_CLIENT_PREALLOCATE=false
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"
python3 -c "import jax; print(jax.__version__, jax.devices())" | tee -a "$OUT/device.txt"
timeout "${SCALE_SECONDS:-200}" python3 benchmarks/scale.py --sizes 100000,1000000 --timeout 60 --heal-steps 100 \
    --out "$OUT/benchmarks_scale_gpu.md" 2>&1 | tee "$OUT/scale.log"
timeout "${THROUGHPUT_SECONDS:-330}" python3 benchmarks/throughput.py --sizes "${SIZES:-10:65536,30:16384}" --repeats 1 \
    --out "$OUT/benchmarks_gpu.md" 2>&1 | tee "$OUT/throughput.log"
# issue 26: the study sized for one GPU (configs/gpu.toml, 131,072 economies per scenario, chunks from the
# device's memory); its last line gives the procedures' economy-steps/s, to set beside the throughput rows
timeout "${STUDY_SECONDS:-300}" python3 -m jplan study gpu --out "$OUT/gpu-study" --fresh --quiet 2>&1 | tail -n 3 \
    | tee "$OUT/study.log"
