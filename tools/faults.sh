#!/usr/bin/env bash
# Runs the fault tests (docs/faults.md): the quick ones that are also in the default suite
# (ctest label "faults"), then the long ones, which ctest leaves out: repeated SIGKILLs under
# load and repeated HSM outages of growing length. Prints every measurement ("[faults] ...").
#
# Usage: tools/faults.sh [--quick | --long]   (default: both)
#
#   build-faults/           the build directory (-DWEFTKIT_WERROR=ON)
#   WEFTKIT_FAULTS_ROUNDS   SIGKILL rounds of the long crash test (default 5)
#
# Needs root for the full-disk and read-only store cases (they mount a small tmpfs); without it
# they are skipped with a message saying so. Bounded: each test has a 240 s ctest timeout and the
# long run takes about a minute per five crash rounds on two cores.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

mode=${1:-all}
case "$mode" in
  all | --quick | --long) ;;
  *)
    echo "usage: tools/faults.sh [--quick | --long]" >&2
    exit 2
    ;;
esac

BUILD=build-faults
export CCACHE_DIR=${CCACHE_DIR:-$ROOT/.cache/ccache}
tools/install-deps.sh
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFTKIT_WERROR=ON
cmake --build "$BUILD" -j"$(nproc)" --target kmsd kmsd_faults_test weftkit_faulty_pkcs11

status=0
if [[ "$mode" != --long ]]; then
  LOG=$BUILD/faults-quick.log
  set +e
  ctest --test-dir "$BUILD" -L '^faults$' -V --no-tests=error --timeout 240 >"$LOG" 2>&1
  quick=$?
  set -e
  # The measurements, then ctest's verdict; the full output stays in $LOG.
  grep -E '\[faults\]' "$LOG" | sed -E 's/^[0-9]+: //' || true
  grep -E '^ *[0-9]+/[0-9]+ Test|tests passed|The following tests' "$LOG" || true
  [[ $quick == 0 ]] || status=1
fi
if [[ "$mode" != --quick ]]; then
  set +e
  timeout 1800 "$BUILD/test/faults/kmsd_faults_test" --gtest_filter='*Long*' 2>&1 |
    grep -Ev '^\{"ts"'
  long=${PIPESTATUS[0]}
  set -e
  [[ $long == 0 ]] || status=1
fi
echo
if [[ $status == 0 ]]; then echo "faults: all passed"; else echo "faults: FAILED (see above)"; fi
exit "$status"
