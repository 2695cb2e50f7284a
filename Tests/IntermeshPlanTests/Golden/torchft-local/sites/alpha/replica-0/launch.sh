#!/usr/bin/env bash
# Starts replica alpha/0 as one local process.
set -euo pipefail
# Rendered by intermesh for alpha/0 of run torchft-demo (revision sha256:a2e42f4bfa009a3b7220c9322ad8bbf2ff0845d35e729b0cf5e9da6e12538346); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
export INTERMESH_DATA_SHARD=0
export INTERMESH_DATA_SHARDS=3
export INTERMESH_ENGINE=torchft
export INTERMESH_MEMBERSHIP=torchft
export INTERMESH_METRICS_PORT=29603
export INTERMESH_RECOVERY_PORT=29601
export INTERMESH_RENDEZVOUS_PORT=29602
export INTERMESH_REPLICA_COUNT=3
export INTERMESH_REPLICA_INDEX=0
export INTERMESH_REVISION_HASH=sha256:a2e42f4bfa009a3b7220c9322ad8bbf2ff0845d35e729b0cf5e9da6e12538346
export INTERMESH_RING_PORT=29600
export INTERMESH_RUN=torchft-demo
export INTERMESH_SITE=alpha
export INTERMESH_SLOT=alpha/0
export NUM_REPLICA_GROUPS=3
export OMP_NUM_THREADS=1
export PYTHONUNBUFFERED=1
export REPLICA_GROUP_ID=0
export TORCHFT_MANAGER_PORT=29600
export TORCHFT_LIGHTHOUSE="${INTERMESH_LIGHTHOUSE:-}"
export TORCHFT_REPLICA_ID="torchft-demo/alpha/0/${INTERMESH_MEMBER_ID:-}/0"
exec torchrun --nnodes=1 --nproc_per_node=1 --master_port=29602 examples/torchft/train_diloco.py
