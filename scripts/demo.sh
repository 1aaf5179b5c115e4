#!/usr/bin/env bash
# The end-to-end demo, on this machine with an embedded loopback fleet (a tracker plus a board
# runtime process): tune matmul 512^3 (64 trials), show the best schedules, compile the best
# kernel and measure it next to the template's untuned default; then the same for a MobileNet
# depthwise layer, where the template default leaves more on the table than matmul's does.
set -euo pipefail
build=${1:-build}
fleettune="$build/bin/fleettune"
out=demo-out
rm -rf "$out"
mkdir -p "$out"

demo() {
  local workload=$1 trials=$2 name=$3
  echo "== fleettune tune --workload $workload --trials $trials"
  "$fleettune" tune --workload "$workload" --target host --trials "$trials" --db "$out/demo.db"
  echo
  echo "== fleettune best --workload $workload"
  "$fleettune" best --workload "$workload" --db "$out/demo.db" --top 5
  echo
  echo "== fleettune compile --workload $workload (and measure it against the untuned default)"
  "$fleettune" compile --workload "$workload" --target host --db "$out/demo.db" \
    -o "$out/$name" --compare-default
  ls -l "$out/$name.so" "$out/$name.h"
  echo
}

demo "matmul:m=512,n=512,k=512" 64 matmul_512
demo "depthwise_conv2d:n=1,c=32,h=112,w=112,r=3,s=3,stride=1,pad=1" 32 mobilenet_dw1
