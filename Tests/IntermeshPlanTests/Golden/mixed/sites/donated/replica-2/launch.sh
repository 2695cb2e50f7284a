#!/usr/bin/env bash
# Starts replica donated/2 on gpu-box-3.example.org over ssh. The plan directory must be at the same path there.
set -euo pipefail
# Rendered by intermesh for donated/2 of run mixed-1b (revision sha256:5c0132b00fd41255e813d203a0aba21463656e72b4399ac44be7f4ccbc0a3404); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
: "${WANDB_API_KEY:?WANDB_API_KEY must be set in the agent environment}"
# Values known only at launch, quoted here for the remote shell.
runtime=""
for name in INTERMESH_MEMBER_ID INTERMESH_INCARNATION INTERMESH_REVISION INTERMESH_SERVER INTERMESH_PLAN_DIR INTERMESH_PLAN INTERMESH_REPLICA_DIR WANDB_API_KEY; do
  runtime="${runtime} ${name}=$(printf '%q' "${!name:-}")"
done
# The token travels on stdin into a private file on the remote host, never on a command line.
token_file="${INTERMESH_TOKEN_FILE:-/dev/null}"
# shellcheck disable=SC2016 # expanded by the remote shell
prefix='umask 077; INTERMESH_TOKEN_FILE=$(mktemp); cat > "$INTERMESH_TOKEN_FILE"; export INTERMESH_TOKEN_FILE'
# shellcheck disable=SC2086 # ssh options are pre-quoted words
exec ssh -o BatchMode=yes -p 2222 trainer@gpu-box-3.example.org -- "${prefix}${runtime}; "'cd /srv/diloco && exec env INTERMESH_DATA_SHARD=6 INTERMESH_DATA_SHARDS=7 INTERMESH_ENGINE=torchrun INTERMESH_METRICS_PORT=29503 INTERMESH_RECOVERY_PORT=29501 INTERMESH_RENDEZVOUS_PORT=29502 INTERMESH_REPLICA_COUNT=7 INTERMESH_REPLICA_INDEX=6 INTERMESH_REVISION_HASH=sha256:5c0132b00fd41255e813d203a0aba21463656e72b4399ac44be7f4ccbc0a3404 INTERMESH_RING_PORT=29500 INTERMESH_RUN=mixed-1b INTERMESH_SITE=donated INTERMESH_SLOT=donated/2 NUM_REPLICA_GROUPS=7 REPLICA_GROUP_ID=6 TORCHFT_LIGHTHOUSE="${INTERMESH_SERVER:-}" torchrun --nnodes=1 --nproc_per_node=1 --master_port=29502 train_diloco.py --model-config configs/1b.json' < "${token_file}"
