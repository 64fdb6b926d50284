#!/usr/bin/env bash
# Builds the libFuzzer targets under fuzz/ with Clang and runs each for a bounded time.
#
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  how long each target runs (libFuzzer -max_total_time); default 30
#   TARGET              target names (envelope, jwt, ...); default: every fuzz/*_fuzzer.cc
#
#   build-fuzz/                    the build directory: clang++, -DWEFTKIT_FUZZ=ON, no tests
#   build-fuzz/fuzz-work/<name>/   a copy of fuzz/corpus/<name> that the run grows, the log, and
#                                  any crashing input (crash-*, timeout-*, oom-*, leak-*)
#
# Each target runs with -timeout=5 (seconds per input) and -rss_limit_mb=2048, under
# AddressSanitizer and UndefinedBehaviorSanitizer. One summary line per target follows; the exit
# code is 1 if any target found a crash, a timeout, a leak or ran out of memory. The committed
# corpora are never modified: docs/fuzzing.md says how to add an input to them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${1:-30}
shift || true
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET < 1)); then
  echo "fuzz.sh: SECONDS_PER_TARGET must be a positive whole number" >&2
  exit 2
fi
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  for source in fuzz/*_fuzzer.cc; do
    name=$(basename "$source" _fuzzer.cc)
    TARGETS+=("$name")
  done
fi

BUILD=build-fuzz
WORK=$BUILD/fuzz-work
export CCACHE_DIR=${CCACHE_DIR:-$ROOT/.cache/ccache}

# libFuzzer ships with Clang's compiler-rt (Debian: clang-14 and libclang-rt-14-dev).
if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found; install clang-14 (apt-get install clang-14)" >&2
  exit 2
fi
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe_dir/probe.cc"
if ! clang++ -fsanitize=fuzzer "$probe_dir/probe.cc" -o "$probe_dir/probe" 2>/dev/null; then
  echo "fuzz.sh: clang++ cannot link libFuzzer; install libclang-rt-14-dev" >&2
  exit 2
fi

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEFTKIT_FUZZ=ON -DWEFTKIT_BUILD_TESTS=OFF >/dev/null
build_targets=()
for name in "${TARGETS[@]}"; do build_targets+=("${name}_fuzzer"); done
cmake --build "$BUILD" -j "${FUZZ_JOBS:-2}" --target "${build_targets[@]}"

# Leaks fail the run; undefined behaviour stops it with a stack trace (it is not recoverable in
# this build anyway).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The value of "stat::<name>:" in libFuzzer's final statistics.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

failed=()
summary=()
for name in "${TARGETS[@]}"; do
  dir=$WORK/$name
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "fuzz/corpus/$name/." "$dir/corpus/"
  echo "fuzz.sh: running $name for ${SECONDS_PER_TARGET}s" >&2
  status=0
  "$BUILD/fuzz/${name}_fuzzer" -max_total_time="$SECONDS_PER_TARGET" -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" >"$dir/log" 2>&1 || status=$?

  # The last status line, e.g. "#123456 DONE cov: 812 ft: 2301 corp: 190/9Kb ...".
  last=$(grep -E '^#[0-9]+[[:space:]]' "$dir/log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  runs=$(final_stat number_of_executed_units "$dir/log")
  rate=$(final_stat average_exec_per_sec "$dir/log")
  artifacts=$(find "$dir/artifacts" -type f | sort)
  outcome=ok
  if ((status != 0)) || [[ -n "$artifacts" ]]; then
    outcome=FAILED
    failed+=("$name")
  fi
  summary+=("$(printf '%-20s %-6s runs=%-9s exec/s=%-7s cov=%-5s ft=%-6s corp=%s' "$name" \
    "$outcome" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
  if [[ "$outcome" == FAILED ]]; then
    echo "fuzz.sh: $name failed (exit $status); log: $dir/log" >&2
    [[ -n "$artifacts" ]] && echo "fuzz.sh: crashing input(s):"$'\n'"$artifacts" >&2
    grep -E 'ERROR: |FUZZ_CHECK failed|runtime error|SUMMARY' "$dir/log" | head -n 5 >&2 || true
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} target(s), no crash in ${SECONDS_PER_TARGET}s each"
