#!/usr/bin/env bash
# Starts replica donated/0 on gpu-box-1.example.org over ssh. The plan directory, and the control plane's authority and client
# certificate when the agent has them, must be at the same paths there.
set -euo pipefail
# Rendered by intermesh for donated/0 of run mixed-1b (revision sha256:1eec570d77b4ddc88020a796ef7772e7378a4cb972fef358b82bff4406b9bef1); do not edit.
INTERMESH_REPLICA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTERMESH_PLAN_DIR="$(cd "${INTERMESH_REPLICA_DIR}/../../.." && pwd)"
export INTERMESH_REPLICA_DIR INTERMESH_PLAN_DIR
export INTERMESH_PLAN="${INTERMESH_PLAN_DIR}/plan.json"
: "${WANDB_API_KEY:?WANDB_API_KEY must be set in the agent environment}"
# Values known only at launch, quoted here for the remote shell.
runtime=""
for name in INTERMESH_MEMBER_ID INTERMESH_INCARNATION INTERMESH_REVISION INTERMESH_SERVER INTERMESH_CHECKPOINT_DIR INTERMESH_PLAN_DIR INTERMESH_PLAN INTERMESH_REPLICA_DIR \
  INTERMESH_CA INTERMESH_CLIENT_CERT INTERMESH_CLIENT_KEY; do
  runtime="${runtime} ${name}=$(printf '%q' "${!name:-}")"
done
# The agent token and the secrets travel on stdin (never on a command line): the token into a private file
# on the remote host, the secrets into the replica's environment.
token=$(head -n 1 "${INTERMESH_TOKEN_FILE:-/dev/null}")
secrets=""
secret_names=( WANDB_API_KEY)
for name in "${secret_names[@]}"; do
  secrets="${secrets}${name}=$(printf '%q' "${!name}")"$'\n'
done
# The remote side starts the replica and stops it (SIGTERM, SIGKILL 30 s later) when its stdin closes, that
# is when this ssh client ends: the agent stopped the replica or lost it. The replica's exit status is ssh's.
# (A background job of a non-interactive shell reads /dev/null unless told otherwise: the watcher gets fd 3.
# It polls rather than blocks, so that nothing holds the session open once the replica has exited.)
# shellcheck disable=SC2016 # expanded by the remote shell
before='umask 077; INTERMESH_TOKEN_FILE=$(mktemp); IFS= read -r line; printf "%s\n" "$line" > "$INTERMESH_TOKEN_FILE"; umask 022
while IFS= read -r line && [ -n "$line" ]; do eval "export $line"; done
export INTERMESH_TOKEN_FILE; exec 3<&0'
# shellcheck disable=SC2016 # expanded by the remote shell
after=') < /dev/null 3<&- & child=$!
{ while kill -0 "$child"; do read -r -t 2 _; r=$?; if [ "$r" -ne 0 ] && [ "$r" -le 128 ]; then
kill -TERM "$child"; sleep 30 < /dev/null; kill -KILL "$child"; fi; done; } <&3 > /dev/null 2>&1 & watcher=$!
wait "$child"; status=$?; kill "$watcher" 2>/dev/null; rm -f "$INTERMESH_TOKEN_FILE"; exit "$status"'
# stdin stays open while this ssh client lives; it closes within seconds after.
# shellcheck disable=SC2086 # ssh options are pre-quoted words
exec ssh -T -o BatchMode=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -p 2222 trainer@gpu-box-1.example.org -- "${before}; export${runtime}; ("'cd /srv/diloco && exec env INTERMESH_DATA_SHARD=4 INTERMESH_DATA_SHARDS=7 INTERMESH_ENGINE=torchrun INTERMESH_MEMBERSHIP=process INTERMESH_METRICS_PORT=29519 INTERMESH_RECOVERY_PORT=29517 INTERMESH_RENDEZVOUS_PORT=29518 INTERMESH_REPLICA_COUNT=7 INTERMESH_REPLICA_INDEX=4 INTERMESH_REVISION_HASH=sha256:1eec570d77b4ddc88020a796ef7772e7378a4cb972fef358b82bff4406b9bef1 INTERMESH_RING_PORT=29516 INTERMESH_RUN=mixed-1b INTERMESH_SITE=donated INTERMESH_SLOT=donated/0 NUM_REPLICA_GROUPS=7 REPLICA_GROUP_ID=4 torchrun --nnodes=1 --nproc_per_node=1 --master_port=29518 train_diloco.py --model-config configs/1b.json'"${after}" \
  < <(printf '%s\n%s\n' "${token}" "${secrets}"; while kill -0 "$$" 2>/dev/null; do sleep 5; done)
