#!/usr/bin/env bash
# Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis, installed by setup into .venv):
# a real `intermesh serve` with a run to aim at, every operation, a few minutes at most. Fails on any 5xx or any
# answer that breaks the document's schemas.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-7797}
cleanup() { [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
.build/debug/intermesh serve --data "$work/data" --listen "127.0.0.1:$port" --lighthouse-port off \
  --admin-token-file "$work/admin.token" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/serve.log" 2>/dev/null && break; sleep 0.2; done
token=$(cat "$work/admin.token")
cat > "$work/demo.yaml" <<'SPEC'
apiVersion: intermesh/v1
kind: TrainingRun
metadata:
  name: demo
spec:
  model: {kind: mlp, layers: 1, hiddenSize: 8, vocabSize: 256, sequenceLength: 8}
  data:
    mix:
      - {name: prose, path: data/prose.txt, weight: 1}
  sites:
    - {name: alpha, replicas: 1}
    - {name: beta, replicas: 1}
SPEC
.build/debug/intermesh apply -f "$work/demo.yaml" --server "http://127.0.0.1:$port" --token "$token"
# Path parameters aim at the run and a site that exist, so operations get past their 404s.
cat > "$work/schemathesis.toml" <<'TOML'
[parameters]
"path.run" = "demo"
"path.site" = "alpha"
TOML
.venv/bin/st --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/v1/openapi.json" \
  -H "Authorization: Bearer $token" --checks not_a_server_error,response_schema_conformance \
  --max-examples 50 --max-time 180 --seed 1 --suppress-health-check all
if grep -q "internal error" "$work/serve.log"; then
  echo "schemathesis: the server logged an internal error:"; grep "internal error" "$work/serve.log"; exit 1
fi
