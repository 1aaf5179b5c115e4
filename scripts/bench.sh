#!/usr/bin/env bash
# `make bench`: the benchmarks of tests/bench/, run one after another on an otherwise idle
# machine. Each prints medians and ratios against references measured in the same run.
set -euo pipefail
build=${1:-build}
# OpenBLAS 0.3.21 does not know recent Xeon/EPYC models and falls back to a slow generic
# kernel (some environments pin it to Haswell, AVX2 only); name the best core type this CPU
# supports so the reference is fair. FLEETTUNE_KEEP_OPENBLAS_CORETYPE=1 keeps the caller's.
if [[ -z ${FLEETTUNE_KEEP_OPENBLAS_CORETYPE:-} ]]; then
  if grep -qw avx512_bf16 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Cooperlake
  elif grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  fi
fi
db_args=()
[[ -f demo-out/demo.db ]] && db_args=(--db demo-out/demo.db)  # the tuned kernel of `make demo`
cores=$(nproc)
"$build/bin/matmul_bench" --size 512 --threads 1 "${db_args[@]}"
echo
"$build/bin/matmul_bench" --size 512 --threads "$cores" "${db_args[@]}"
