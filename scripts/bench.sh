#!/usr/bin/env bash
# `make bench`: the benchmarks of tests/bench/, run one after another on an idle machine.
set -euo pipefail
build=${1:-build}
# OpenBLAS 0.3.21 does not know recent Xeon/EPYC models and falls back to a slow generic
# kernel; name the core type so the reference is fair.
if [[ -z ${OPENBLAS_CORETYPE:-} ]] && grep -qw avx512f /proc/cpuinfo; then
  if grep -qw avx512_bf16 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Cooperlake
  else export OPENBLAS_CORETYPE=SkylakeX; fi
fi
db_args=()
[[ -f demo-out/demo.db ]] && db_args=(--db demo-out/demo.db)
"$build/bin/matmul_bench" --size 512 --threads 1 "${db_args[@]}"
