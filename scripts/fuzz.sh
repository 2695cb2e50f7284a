#!/usr/bin/env bash
# Fuzzes one target with libFuzzer and AddressSanitizer: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]
#   TARGET: spec (YAML text in, a run or located diagnostics out) or api (the API's request-body decoders).
# Builds intermesh-fuzz instrumented into .build/fuzz, seeds a working corpus (.build/fuzz/corpus/TARGET) from the
# regression corpus (Tests/FuzzCorpus/TARGET) and, for spec, the repository's specs and test fixtures; a failing
# input is written to .build/fuzz/crashes/TARGET/. The tests replay Tests/FuzzCorpus: copy a fixed crash there.
# FUZZ_KEEP=1 merges the inputs that add coverage into Tests/FuzzCorpus/TARGET afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh spec|api SECONDS [libFuzzer flags...]}
seconds=${2:?usage: scripts/fuzz.sh spec|api SECONDS [libFuzzer flags...]}
shift 2
case "$target" in spec|api) ;; *) echo "fuzz.sh: unknown target '$target' (spec or api)" >&2; exit 2 ;; esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }

# lld: gold cannot link AddressSanitizer's instrumentation with Swift's debug information.
swift build --build-path .build/fuzz --product intermesh-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DINTERMESH_LIBFUZZER -Xswiftc -use-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,address >&2
fuzz=.build/fuzz/debug/intermesh-fuzz
corpus=.build/fuzz/corpus/$target
crashes=.build/fuzz/crashes/$target
mkdir -p "$corpus" "$crashes" "Tests/FuzzCorpus/$target"
cp -n Tests/FuzzCorpus/"$target"/* "$corpus"/ 2>/dev/null || true
if [[ "$target" == spec ]]; then
    for file in specs/*.yaml Tests/IntermeshSpecTests/Fixtures/broken/*.yaml; do
        [[ -f "$file" ]] && cp -n "$file" "$corpus/seed-$(echo "$file" | tr '/' '-')"
    done
fi
# Swift's backtracer does not run under AddressSanitizer; libFuzzer prints the stack. Leak checking is off: the
# Swift runtime's metadata caches live until exit and LeakSanitizer reports them as leaks.
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0
"$fuzz" "$target" "$corpus" -max_total_time="$seconds" -artifact_prefix="$crashes/" -print_final_stats=1 \
    -max_len=65536 -timeout=20 -rss_limit_mb=4096 -detect_leaks=0 "$@"
if [[ "${FUZZ_KEEP:-0}" == 1 ]]; then
    "$fuzz" "$target" -merge=1 "Tests/FuzzCorpus/$target" "$corpus"
fi
