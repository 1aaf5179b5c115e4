#!/usr/bin/env bash
# `make bench`: the benchmarks of tests/bench/ on an otherwise idle machine. kernel_bench
# tunes fleettune's matmul (512^3, 1024^3) and ResNet-50 conv2d kernels in process and prints,
# for one thread and for all cores, their GFLOPS next to OpenBLAS sgemm and oneDNN measured in
# the same run, as a fraction of the measured peak FMA throughput (about 10-15 minutes on
# 2 cores). Extra arguments go to kernel_bench, e.g. `scripts/bench.sh build --quick`.
# fleet_bench then measures the tracker with 1,000 simulated boards (about a minute).
set -euo pipefail
build=${1:-build}
shift || true
# OpenBLAS 0.3.21 does not know recent Xeon/EPYC models and falls back to a slow generic
# kernel (some environments pin it to Haswell, AVX2 only); name the best core type this CPU
# supports so the reference is fair. FLEETTUNE_KEEP_OPENBLAS_CORETYPE=1 keeps the caller's.
if [[ -z ${FLEETTUNE_KEEP_OPENBLAS_CORETYPE:-} ]]; then
  if grep -qw avx512_bf16 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Cooperlake
  elif grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  fi
fi
bench="$build/bin/kernel_bench"
if [[ ! -x $bench ]]; then
  echo "bench: $bench not built (run 'make build' first)" >&2
  exit 1
fi
quick=()
for arg in "$@"; do [[ $arg == --quick ]] && quick=(--quick); done
"$bench" "$@"
echo
# Pre-packed weights (issue #20): ResNet-50's layers, default configs on one thread, built
# normally vs with their weights packed at build time; the sum over the model (a few minutes).
model="$build/tests/bench/resnet50.onnx"
if [[ ! -f $model ]]; then
  /usr/bin/python3 "$(dirname "$0")/models/write_model.py" resnet50 "$model" >/dev/null
fi
"$build/bin/prepack_bench" --model "$model" "${quick[@]}"
echo
# The tracker at scale: 1,000 simulated boards, dispatch rate and overhead, utilisation.
"$build/bin/fleet_bench" "${quick[@]}"
echo
# The tracker's web page (issue #23) with 1,000 simulated boards (simulated_fleet) and a tune
# job on them, in headless Chromium: the fleet page's load time over 5 fresh loads, each poll's
# fetch and render time over 30 polls, /api/v1/boards' response time and size (about 3
# minutes; --quick: 50 boards).
/usr/bin/python3 "$(dirname "$0")/../tests/bench/web_bench.py" "$build/bin/fleettune" \
  "$build/bin/simulated_fleet" "$build/tests/bench/web_bench" "${quick[@]}"
echo
# The tuning database with 1,000,000 records (quick: 20,000): lookup p50/p99, bulk import
# rate, per-insert cost; FLEETTUNE_BENCH_POSTGRES=1 adds a run on a throwaway PostgreSQL.
db_pg=()
[[ -n ${FLEETTUNE_BENCH_POSTGRES:-} ]] && db_pg=(--postgres)
"$build/bin/db_bench" "${quick[@]}" "${db_pg[@]}"
echo
# Model-guided search (issue #4): random vs xgb vs xgb+transfer on measured tables (cached in
# the build dir; the first run measures them: about 29 minutes on 2 cores, then about 19
# minutes of searching, which is all a cached run takes), ranking quality, model share.
"$build/bin/search_bench" "${quick[@]}" --cache "$build/tests/bench/search_bench_tables"
echo
# Simple-op kernels (pooling, elementwise, softmax, concat) against plain C++ loops, 1 thread.
"$build/bin/simple_op_bench" "${quick[@]}"
echo
# Whole networks (issue #20): ResNet-50 and MobileNet-V2 built by `fleettune compile --model`
# with template defaults (and from FLEETTUNE_BENCH_DB when set) at 1 thread and all cores,
# against OpenCV DNN 4.6 and oneDNN's per-layer sum, each checked against OpenCV first
# (about 10 minutes on 2 cores).
net_db=()
[[ -n ${FLEETTUNE_BENCH_DB:-} ]] && net_db=(--db "$FLEETTUNE_BENCH_DB")
"$build/bin/network_bench" "${quick[@]}" "${net_db[@]}" --work "$build/tests/bench/network_bench"
echo
# Whole-model tuning (issue #21): ResNet-50 and MobileNet-V2 tuned with the gradient and the
# round-robin task scheduler side by side (2,000 trials each, one thread, a core each),
# evaluated at 200/500/1,000/2,000 trials (estimated and measured latency against the
# all-defaults build), and a round-robin model job's time per trial against single-op jobs
# (about 80 minutes on 2 cores; --quick: MobileNet-V2 at 300/400 trials, about 15 minutes).
# Finished jobs are kept in the build dir.
/usr/bin/python3 "$(dirname "$0")/../tests/bench/model_tuning_bench.py" "$build/bin/fleettune" \
  "$(dirname "$0")/models/write_model.py" "$build/tests/bench/model_tuning" "${quick[@]}"
echo
# Results a user can trust (issue #22): the same kernels timed in process and in a board's
# sandbox worker (a couple of minutes); then the demo's two workloads and two more, 5 jobs
# each: what `tune` claimed while exploring, what its confirmation round printed, and what
# `compile --compare-default` measured afterwards (about 30 minutes; --quick: 4 jobs).
"$build/bin/measure_hygiene_bench" "${quick[@]}"
echo
/usr/bin/python3 "$(dirname "$0")/../tests/bench/confirm_bench.py" "$build/bin/fleettune" \
  "$build/tests/bench/confirm" "${quick[@]}"
