#!/usr/bin/env bash
# The end-to-end demo: tune matmul 512^3 on this machine with an embedded loopback fleet
# (a tracker plus a board runtime process), show the best schedules, compile the best kernel
# and measure it next to the template's untuned default.
set -euo pipefail
build=${1:-build}
fleettune="$build/bin/fleettune"
workload="matmul:m=512,n=512,k=512"
out=demo-out
rm -rf "$out"
mkdir -p "$out"

echo "== fleettune tune --workload $workload --trials 64"
"$fleettune" tune --workload "$workload" --target host --trials 64 --db "$out/demo.db"
echo
echo "== fleettune best"
"$fleettune" best --workload "$workload" --db "$out/demo.db" --top 5
echo
echo "== fleettune compile (and measure against the untuned default)"
"$fleettune" compile --workload "$workload" --target host --db "$out/demo.db" \
  -o "$out/matmul_512" --compare-default
ls -l "$out/matmul_512.so" "$out/matmul_512.h"
