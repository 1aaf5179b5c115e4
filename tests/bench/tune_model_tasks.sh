#!/usr/bin/env bash
# Tunes every tunable workload of an ONNX model with one single-op `fleettune tune` job each
# (the same trial count for all, embedded fleet), into one database: the tuned database
# network_bench's `--db` column reads. Whole-model tuning with one budget spread by a task
# scheduler is `fleettune tune --model` (issue #21); this is the plain per-task baseline.
#
# Usage: tests/bench/tune_model_tasks.sh FLEETTUNE MODEL.onnx DB TRIALS [TARGET]
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 FLEETTUNE MODEL.onnx DB TRIALS [TARGET]" >&2
  exit 2
fi
fleettune=$1 model=$2 db=$3 trials=$4 target=${5:-host -threads=1}
mapfile -t workloads < <("$fleettune" tasks --model "$model" --target "$target" --json |
  /usr/bin/python3 -c 'import json, sys; print("\n".join(t["workload"] for t in json.load(sys.stdin)))')
start=$SECONDS
for i in "${!workloads[@]}"; do
  echo "[$((i + 1))/${#workloads[@]}] ${workloads[$i]}"
  "$fleettune" tune --workload "${workloads[$i]}" --target "$target" --trials "$trials" \
    --db "$db" --quiet --log-level warn 2>&1 | grep -E '^best:|template default' || true
done
echo "tuned ${#workloads[@]} workloads of $model, $trials trials each, in $((SECONDS - start)) s"
