#!/usr/bin/env bash
# Submits replica campus-cluster/0 to Slurm and prints the job id.
set -euo pipefail
# Rendered by intermesh for campus-cluster/0 of run mixed-1b (revision sha256:1eec570d77b4ddc88020a796ef7772e7378a4cb972fef358b82bff4406b9bef1); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
# shellcheck disable=SC2086 # extra arguments are pre-quoted words
exec sbatch --parsable --export=ALL  "${INTERMESH_REPLICA_DIR}/job.sbatch"
