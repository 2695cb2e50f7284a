#!/usr/bin/env bash
# Starts replica gamma/0 as one local process.
set -euo pipefail
# Rendered by intermesh for gamma/0 of run local-demo (revision sha256:eb2d00369e251eb4561a69bab390ee5ff4a26f0bab2003ca96a7fd04950e09e8); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
export INTERMESH_DATA_SHARD=2
export INTERMESH_DATA_SHARDS=3
export INTERMESH_ENGINE=reference
export INTERMESH_MEMBERSHIP=native
export INTERMESH_METRICS_PORT=29511
export INTERMESH_RECOVERY_PORT=29509
export INTERMESH_RENDEZVOUS_PORT=29510
export INTERMESH_REPLICA_COUNT=3
export INTERMESH_REPLICA_INDEX=2
export INTERMESH_REVISION_HASH=sha256:eb2d00369e251eb4561a69bab390ee5ff4a26f0bab2003ca96a7fd04950e09e8
export INTERMESH_RING_PORT=29508
export INTERMESH_RUN=local-demo
export INTERMESH_SITE=gamma
export INTERMESH_SLOT=gamma/0
exec intermesh-trainer --slot gamma/0
