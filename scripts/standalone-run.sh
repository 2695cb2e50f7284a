#!/usr/bin/env bash
# Trains specs/local.yaml with the reference engine in standalone mode on this machine: three replicas
# (beta with 2 MPI ranks) on loopback, for OUTER_STEPS outer steps (default 30). Prints the loss per data
# source at the start and the end, and checks that every replica logged the same parameter hash at every
# outer step. Logs and checkpoints go to RUN_DIR (default .build/runs/local).
#   scripts/standalone-run.sh [OUTER_STEPS] [SPEC]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30}
spec=${2:-specs/local.yaml}
config=${CONFIG:-debug}
run_dir=${RUN_DIR:-.build/runs/local}
bin=.build/$config
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

rm -rf "$run_dir"
mkdir -p "$run_dir"
"$bin/intermesh" plan "$spec" --out "$run_dir/plan" > /dev/null
slots=$(python3 - "$run_dir/plan/plan.json" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
print(" ".join(replica["slot"] + ":" + str(len(replica["ranks"])) for site in plan["sites"] for replica in site["replicas"]))
PY
)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
for entry in $slots; do
  slot=${entry%%:*}
  ranks=${entry##*:}
  log="$run_dir/${slot//\//-}.log"
  args=(--plan "$run_dir/plan/plan.json" --slot "$slot" --standalone --outer-steps "$steps" --checkpoint-dir "$run_dir/checkpoints/${slot//\//-}")
  if [ "$ranks" -gt 1 ]; then
    mpirun -np "$ranks" "$bin/intermesh-trainer" "${args[@]}" > "$log" 2>&1 &
  else
    "$bin/intermesh-trainer" "${args[@]}" > "$log" 2>&1 &
  fi
  pids+=($!)
done
echo "training $spec: $(echo "$slots" | wc -w) replicas, $steps outer steps; logs in $run_dir"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
trap - EXIT
python3 scripts/summarize-run.py "$run_dir"/*.log
exit "$status"
