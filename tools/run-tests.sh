#!/usr/bin/env bash
# Builds everything with warnings as errors and runs the whole test suite, as CI does.
# The README's second command; .ci/run executes it.
#
# Usage: tools/run-tests.sh [extra ctest arguments, e.g. -R Config]
#
# Stages, each in its own build directory:
#   sanitizers  build-asan/, AddressSanitizer + UndefinedBehaviorSanitizer (GCC), the whole suite
#   fuzz        build-fuzz/, Clang libFuzzer binaries; each fuzzes for WEFTKIT_FUZZ_SECONDS
#               (default 20) from its committed corpus as ctest test fuzz_run_<name>
#   plain       build-ci/ (RelWithDebInfo, -DWEFTKIT_WERROR=ON), the whole suite
#   tsan        build-tsan/, ThreadSanitizer (GCC), the whole suite
# Every build has -DWEFTKIT_WERROR=ON. WEFTKIT_STAGES lists the stages to run, in order; the
# default, and so CI's, is "plain fuzz": the fuzz binaries run under AddressSanitizer and
# UndefinedBehaviorSanitizer, the test suite without them. "sanitizers" and "tsan" are run by
# asking for them, e.g.
#   WEFTKIT_STAGES=sanitizers tools/run-tests.sh        # the whole suite under ASan+UBSan
#   WEFTKIT_STAGES="sanitizers fuzz plain tsan" tools/run-tests.sh
# TODO(#8): make the default "sanitizers fuzz" (the ASan+UBSan suite instead of the plain one)
# once a fresh-clone CI run with it has been timed; a whole-suite ASan run has been seen green
# once (docs/hardening.md#sanitizers).
# The older WEFTKIT_SANITIZE still works when WEFTKIT_STAGES is unset: 0 is "plain", 1 is
# "sanitizers", both is "sanitizers plain".
# Extra ctest arguments apply to the test-suite stages, not to the fuzz stage, which always runs
# every target.
#
# Each stage prints ctest's output and then repeats its summary line. The output ends with one
# line in ctest's form ("N% tests passed, F tests failed out of T") counting every stage; the
# exit code is non-zero if any stage failed to build or had a failing test.
#
# Tests make their own SoftHSM tokens, PKIs and SQLite files in temporary directories; nothing
# here touches state/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# A ccache inside the repository (gitignored) survives between CI runs when .cache/ is cached.
export CCACHE_DIR=${CCACHE_DIR:-$ROOT/.cache/ccache}

if [[ -n "${WEFTKIT_STAGES:-}" ]]; then
  read -r -a STAGES <<<"$WEFTKIT_STAGES"
else
  case "${WEFTKIT_SANITIZE:-}" in
    0) STAGES=(plain) ;;
    1) STAGES=(sanitizers) ;;
    both) STAGES=(sanitizers plain) ;;
    *) STAGES=(plain fuzz) ;;
  esac
fi
for stage in "${STAGES[@]}"; do
  case "$stage" in
    sanitizers | fuzz | plain | tsan) ;;
    *)
      echo "run-tests: unknown stage '$stage' (sanitizers, fuzz, plain, tsan)" >&2
      exit 2
      ;;
  esac
done

tools/install-deps.sh

TOTAL=0
FAILED=0
STATUS=0

# run_stage NAME BUILD_DIR [cmake args...] -- [ctest args...]
# Builds BUILD_DIR's targets BUILD_TARGETS (default: all) and runs ctest in
# BUILD_DIR/TEST_SUBDIR (default: BUILD_DIR itself).
run_stage() {
  local name=$1 build=$2
  shift 2
  local cmake_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    cmake_args+=("$1")
    shift
  done
  shift
  local targets=()
  if [[ -n "${BUILD_TARGETS:-}" ]]; then targets=(--target $BUILD_TARGETS); fi
  local start=$SECONDS
  echo "==== run-tests: stage '$name' in $build/"
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFTKIT_WERROR=ON \
      "${cmake_args[@]}" || ! cmake --build "$build" -j"$(nproc)" "${targets[@]}"; then
    echo "run-tests: the $name build failed (see above); its tests were not run" >&2
    STATUS=1
    return
  fi
  echo "run-tests: stage '$name' built in $((SECONDS - start)) s"

  # ctest prints its summary ("N% tests passed, F tests failed out of T") before the list of
  # failures; it is repeated after the stage so that the stage's result is easy to find.
  local log=$build/ctest-output.log status summary
  set +e
  ctest --test-dir "$build/${TEST_SUBDIR:-}" --output-on-failure --no-tests=error -j2 \
    --timeout 600 "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
  echo
  echo "run-tests: stage '$name' ($((SECONDS - start)) s):" \
    "${summary:-ctest did not report a summary (exit code $status)}"
  if [[ $status -ne 0 ]]; then STATUS=$status; fi
  if [[ $summary =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    FAILED=$((FAILED + BASH_REMATCH[1]))
    TOTAL=$((TOTAL + BASH_REMATCH[2]))
  fi
}

# Leaks count as errors; undefined behaviour stops the test with a stack trace.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for stage in "${STAGES[@]}"; do
  case "$stage" in
    sanitizers) run_stage sanitizers build-asan -DWEFTKIT_SANITIZE=ON -- "$@" ;;
    plain) run_stage plain build-ci -- "$@" ;;
    fuzz)
      # Clang's libFuzzer; the project's own libraries are instrumented for coverage too. CXX
      # picks the compiler at the first configure only, as in tools/fuzz.sh.
      CXX=clang++ BUILD_TARGETS=fuzzers TEST_SUBDIR=fuzz run_stage fuzz build-fuzz \
        -DWEFTKIT_FUZZ=ON -DWEFTKIT_BUILD_TESTS=OFF \
        -DWEFTKIT_FUZZ_SECONDS="${WEFTKIT_FUZZ_SECONDS:-20}" -- -L '^fuzz_run$'
      ;;
    tsan)
      # SoftHSM, OpenSSL and SQLite are not built with ThreadSanitizer; the suppressions file
      # says which of their reports are ignored and why.
      tsan_default="halt_on_error=1:second_deadlock_stack=1"
      tsan_default+=":suppressions=$ROOT/tools/sanitizers/tsan.supp"
      TSAN_OPTIONS=${TSAN_OPTIONS:-$tsan_default} run_stage tsan build-tsan -DWEFTKIT_TSAN=ON -- "$@"
      ;;
  esac
done

# One line in ctest's form for all stages together, last, so that CI logs end with the result.
echo
if [[ $TOTAL -gt 0 ]]; then
  echo "$(( (TOTAL - FAILED) * 100 / TOTAL ))% tests passed, $FAILED tests failed out of $TOTAL"
else
  echo "run-tests: no stage reported a ctest summary (exit code $STATUS)"
fi
exit "$STATUS"
