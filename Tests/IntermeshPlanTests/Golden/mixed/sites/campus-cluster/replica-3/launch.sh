#!/usr/bin/env bash
# Submits replica campus-cluster/3 to Slurm and prints the job id.
set -euo pipefail
# Rendered by intermesh for campus-cluster/3 of run mixed-1b (revision sha256:aaf7a95215ea42b656cf4055e6c03b71d16fc42f1315594a7dc394f96571a2dd); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
# shellcheck disable=SC2086 # extra arguments are pre-quoted words
exec sbatch --parsable --export=ALL  "${INTERMESH_REPLICA_DIR}/job.sbatch"
