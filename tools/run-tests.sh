#!/usr/bin/env bash
# Builds everything with warnings as errors and runs the whole test suite, as CI does.
# The README's second command; .ci/run executes it.
#
# Usage: tools/run-tests.sh [extra ctest arguments, e.g. -R Config]
#
#   build-ci/    the build directory (RelWithDebInfo, -DWEFTKIT_WERROR=ON), separate from the
#                build/ of tools/kms-dev-up.sh
#   WEFTKIT_SANITIZE=1  builds in build-asan/ with AddressSanitizer and UndefinedBehaviorSanitizer
#
# Tests make their own SoftHSM tokens, PKIs and SQLite files in temporary directories; nothing
# here touches state/. The output ends with ctest's summary line and the exit code is ctest's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

BUILD=build-ci
CMAKE_ARGS=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFTKIT_WERROR=ON)
if [[ "${WEFTKIT_SANITIZE:-0}" == 1 ]]; then
  BUILD=build-asan
  CMAKE_ARGS+=(-DWEFTKIT_SANITIZE=ON)
  # Leaks count as errors; undefined behaviour stops the test with a stack trace.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
# A ccache inside the repository (gitignored) survives between CI runs when .cache/ is cached.
export CCACHE_DIR=${CCACHE_DIR:-$ROOT/.cache/ccache}

tools/install-deps.sh
if ! cmake -S . -B "$BUILD" "${CMAKE_ARGS[@]}" || ! cmake --build "$BUILD" -j"$(nproc)"; then
  echo "run-tests: the build failed (see above); no tests were run" >&2
  exit 1
fi

# ctest prints its summary ("N% tests passed, F tests failed out of T") before the list of
# failures; it is repeated last so that the final line of a CI log always tells the result.
LOG=$BUILD/ctest-output.log
set +e
ctest --test-dir "$BUILD" --output-on-failure --no-tests=error -j2 --timeout 600 "$@" 2>&1 |
  tee "$LOG"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^[0-9]+% tests passed' "$LOG" | tail -n 1 || true)
echo
echo "${summary:-ctest did not report a summary (exit code $status)}"
exit "$status"
