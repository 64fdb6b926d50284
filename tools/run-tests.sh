#!/usr/bin/env bash
# Builds everything with warnings as errors and runs the whole test suite, as CI does.
# The README's second command; .ci/run executes it.
#
# Usage: tools/run-tests.sh [extra ctest arguments, e.g. -R Config]
#
# Two stages, each a separate build directory:
#   sanitizers  build-asan/, AddressSanitizer + UndefinedBehaviorSanitizer, the whole suite
#   plain       build-ci/ (RelWithDebInfo, -DWEFTKIT_WERROR=ON), the whole suite
# WEFTKIT_SANITIZE selects them:
#   unset or 0  only the plain stage (the default)
#   1           only the sanitizer stage
#   both        the sanitizer stage, then the plain stage
# With both, the output ends with the plain stage's ctest summary followed by one line in the
# same form that counts both stages; the exit code is non-zero if either stage failed.
# TODO(#8): make "both" the default (and so CI's) once a whole-suite ASan run is green; see
# docs/hardening.md#sanitizers.
#
# Tests make their own SoftHSM tokens, PKIs and SQLite files in temporary directories; nothing
# here touches state/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# A ccache inside the repository (gitignored) survives between CI runs when .cache/ is cached.
export CCACHE_DIR=${CCACHE_DIR:-$ROOT/.cache/ccache}

case "${WEFTKIT_SANITIZE:-0}" in
  1) STAGES=(sanitizers) ;;
  both) STAGES=(sanitizers plain) ;;
  *) STAGES=(plain) ;;
esac

tools/install-deps.sh

TOTAL=0
FAILED=0
STATUS=0

# run_stage NAME BUILD_DIR [cmake args...] -- [ctest args...]
run_stage() {
  local name=$1 build=$2
  shift 2
  local cmake_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    cmake_args+=("$1")
    shift
  done
  shift
  echo "==== run-tests: stage '$name' in $build/"
  if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFTKIT_WERROR=ON \
      "${cmake_args[@]}" || ! cmake --build "$build" -j"$(nproc)"; then
    echo "run-tests: the $name build failed (see above); its tests were not run" >&2
    STATUS=1
    return
  fi

  # ctest prints its summary ("N% tests passed, F tests failed out of T") before the list of
  # failures; it is repeated after the stage so that the stage's result is easy to find.
  local log=$build/ctest-output.log status summary
  set +e
  ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 --timeout 600 "$@" 2>&1 |
    tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)
  echo
  echo "run-tests: stage '$name': ${summary:-ctest did not report a summary (exit code $status)}"
  if [[ $status -ne 0 ]]; then STATUS=$status; fi
  if [[ $summary =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    FAILED=$((FAILED + BASH_REMATCH[1]))
    TOTAL=$((TOTAL + BASH_REMATCH[2]))
  fi
}

for stage in "${STAGES[@]}"; do
  if [[ $stage == sanitizers ]]; then
    # Leaks count as errors; undefined behaviour stops the test with a stack trace.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
      UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      run_stage sanitizers build-asan -DWEFTKIT_SANITIZE=ON -- "$@"
  else
    run_stage plain build-ci -- "$@"
  fi
done

# One line in ctest's form for all stages together, last, so that CI logs end with the result.
echo
if [[ $TOTAL -gt 0 ]]; then
  echo "$(( (TOTAL - FAILED) * 100 / TOTAL ))% tests passed, $FAILED tests failed out of $TOTAL"
else
  echo "run-tests: no stage reported a ctest summary (exit code $STATUS)"
fi
exit "$STATUS"
