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
# Each target runs through tools/fuzz-target.sh (-timeout=5 seconds per input, -rss_limit_mb=2048,
# AddressSanitizer and UndefinedBehaviorSanitizer, leaks fatal). One summary line per target
# follows; the exit code is 1 if any target found a crash, a timeout, a leak or ran out of
# memory. The committed corpora are never modified: docs/fuzzing.md says how to add an input to
# them. CI runs the same targets as ctest tests instead (tools/run-tests.sh, stage fuzz).
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

failed=()
summary=()
for name in "${TARGETS[@]}"; do
  echo "fuzz.sh: running $name for ${SECONDS_PER_TARGET}s" >&2
  if line=$(tools/fuzz-target.sh "$BUILD/fuzz/${name}_fuzzer" "$SECONDS_PER_TARGET" \
      "fuzz/corpus/$name" "$WORK/$name"); then
    summary+=("$line")
  else
    summary+=("$(head -n 1 <<<"$line")")
    tail -n +2 <<<"$line" >&2
    failed+=("$name")
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: ${#TARGETS[@]} target(s), no crash in ${SECONDS_PER_TARGET}s each"
