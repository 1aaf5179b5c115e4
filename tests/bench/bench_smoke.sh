#!/usr/bin/env bash
# ctest smoke test of kernel_bench: a --quick run on tiny shapes (one matmul, two conv2d
# layers, one and two threads) must exit 0 and report every output check passed. No timing
# assertions. Usage: bench_smoke.sh path/to/kernel_bench
set -uo pipefail
out=$("$1" --quick --threads 1,2 --matmul 48x40x24 --conv '8,10,10,8,3,3,1,1;4,9,9,8,1,1,2,0' 2>&1)
rc=$?
echo "$out"
if ((rc != 0)); then
  echo "bench_smoke: kernel_bench exited $rc" >&2
  exit 1
fi
if ! grep -Eq '^correctness: all [1-9][0-9]* checks passed' <<<"$out"; then
  echo "bench_smoke: no 'correctness: all N checks passed' line" >&2
  exit 1
fi
if ! grep -Eq '^matmul 48x40x24 +\| +[0-9.]+ ' <<<"$out"; then
  echo "bench_smoke: no measured tuned matmul row" >&2
  exit 1
fi
echo "bench_smoke: OK"
