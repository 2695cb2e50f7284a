#!/usr/bin/env bash
# Starts replica beta/0 as one MPI job of 2 ranks.
set -euo pipefail
# Rendered by intermesh for beta/0 of run local-demo (revision sha256:eb2d00369e251eb4561a69bab390ee5ff4a26f0bab2003ca96a7fd04950e09e8); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
export INTERMESH_DATA_SHARD=1
export INTERMESH_DATA_SHARDS=3
export INTERMESH_ENGINE=reference
export INTERMESH_MEMBERSHIP=native
export INTERMESH_METRICS_PORT=29507
export INTERMESH_RECOVERY_PORT=29505
export INTERMESH_RENDEZVOUS_PORT=29506
export INTERMESH_REPLICA_COUNT=3
export INTERMESH_REPLICA_INDEX=1
export INTERMESH_REVISION_HASH=sha256:eb2d00369e251eb4561a69bab390ee5ff4a26f0bab2003ca96a7fd04950e09e8
export INTERMESH_RING_PORT=29504
export INTERMESH_RUN=local-demo
export INTERMESH_SITE=beta
export INTERMESH_SLOT=beta/0
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# The control plane's authority and the client certificate, when the agent has them (TLS to the control plane).
tls=()
for name in INTERMESH_CA INTERMESH_CLIENT_CERT INTERMESH_CLIENT_KEY; do
  if [ -n "${!name:-}" ]; then tls+=(-x "${name}"); fi
done
# shellcheck disable=SC2086 # extra arguments are pre-quoted words
exec mpirun --hostfile "${INTERMESH_REPLICA_DIR}/hostfile" -np 2 --oversubscribe \
  -x INTERMESH_DATA_SHARD -x INTERMESH_DATA_SHARDS -x INTERMESH_ENGINE -x INTERMESH_MEMBERSHIP -x INTERMESH_METRICS_PORT -x INTERMESH_RECOVERY_PORT -x INTERMESH_RENDEZVOUS_PORT -x INTERMESH_REPLICA_COUNT -x INTERMESH_REPLICA_INDEX -x INTERMESH_REVISION_HASH -x INTERMESH_RING_PORT -x INTERMESH_RUN -x INTERMESH_SITE -x INTERMESH_SLOT -x OMPI_ALLOW_RUN_AS_ROOT -x OMPI_ALLOW_RUN_AS_ROOT_CONFIRM -x INTERMESH_PLAN -x INTERMESH_PLAN_DIR -x INTERMESH_REPLICA_DIR -x INTERMESH_MEMBER_ID -x INTERMESH_INCARNATION -x INTERMESH_CHECKPOINT_DIR -x INTERMESH_SERVER -x INTERMESH_TOKEN_FILE "${tls[@]}"  \
  intermesh-trainer --slot beta/0
