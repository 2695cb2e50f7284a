#!/usr/bin/env bash
# Checks every example spec end to end with the built binary: it validates, it matches the JSON Schema
# under an off-the-shelf validator, and every rendered launch script passes shellcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${INTERMESH_BIN:-.build/debug/intermesh}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" validate specs/*.yaml
"$bin" schema > "$work/schema.json"
python3 scripts/validate-schema.py "$work/schema.json" specs/*.yaml

scripts=()
for spec in specs/*.yaml; do
  name=$(basename "$spec" .yaml)
  "$bin" plan "$spec" --out "$work/$name" > /dev/null 2>&1
  while IFS= read -r -d '' file; do scripts+=("$file"); done < <(find "$work/$name" \( -name '*.sh' -o -name '*.sbatch' \) -print0)
done
shellcheck --shell=bash "${scripts[@]}"
echo "check-examples: ${#scripts[@]} rendered scripts pass shellcheck; $(ls specs/*.yaml | wc -l) specs match the schema"
