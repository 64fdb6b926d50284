#!/usr/bin/env bash
# Runs one libFuzzer binary for a bounded time from a copy of its committed corpus, and says in
# one line what it found. tools/fuzz.sh runs every target through it, and so do the ctest tests
# fuzz_run_<name> of a -DWEFTKIT_FUZZ=ON build (label fuzz_run), which CI's fuzz stage runs.
#
# Usage: tools/fuzz-target.sh FUZZER SECONDS CORPUS WORK
#
#   FUZZER   the <name>_fuzzer binary
#   SECONDS  how long it runs (libFuzzer -max_total_time), a positive whole number
#   CORPUS   its committed seed corpus, fuzz/corpus/<name>; never modified
#   WORK     a folder emptied first: WORK/corpus (the copy that the run grows), WORK/log, and
#            WORK/artifacts/ with any crashing input (crash-*, timeout-*, oom-*, leak-*)
#
# Each input may take 5 s (-timeout) and the process 2 GiB (-rss_limit_mb). Leaks fail the run and
# undefined behaviour stops it, unless ASAN_OPTIONS / UBSAN_OPTIONS say otherwise. Exit code 0
# when the target ran its time without a finding, 1 when it found one (the last line names the
# saved input and the log), 2 on a usage error.
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 FUZZER SECONDS CORPUS WORK" >&2
  exit 2
fi
FUZZER=$1 SECONDS_TO_RUN=$2 CORPUS=$3 WORK=$4
if ! [[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || ((SECONDS_TO_RUN < 1)); then
  echo "fuzz-target.sh: SECONDS must be a positive whole number" >&2
  exit 2
fi
if [[ ! -x "$FUZZER" || ! -d "$CORPUS" ]]; then
  echo "fuzz-target.sh: no fuzzer binary at $FUZZER or no corpus folder at $CORPUS" >&2
  exit 2
fi
name=$(basename "$FUZZER" _fuzzer)

rm -rf "$WORK"
mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp -r "$CORPUS/." "$WORK/corpus/"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$FUZZER" -max_total_time="$SECONDS_TO_RUN" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$WORK/artifacts/" "$WORK/corpus" >"$WORK/log" 2>&1 || status=$?

# The value of "stat::<name>:" in libFuzzer's final statistics.
final_stat() { sed -n "s/^stat::$1: *//p" "$WORK/log" | tail -n 1; }
# The last status line, e.g. "#123456 DONE cov: 812 ft: 2301 corp: 190/9Kb ...".
last=$(grep -E '^#[0-9]+[[:space:]]' "$WORK/log" | tail -n 1 || true)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
runs=$(final_stat number_of_executed_units)
rate=$(final_stat average_exec_per_sec)
artifacts=$(find "$WORK/artifacts" -type f | sort)

outcome=ok
if ((status != 0)) || [[ -n "$artifacts" ]]; then outcome=FAILED; fi
printf '%-20s %-6s runs=%-9s exec/s=%-7s cov=%-5s ft=%-6s corp=%s\n' "$name" "$outcome" \
  "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
if [[ "$outcome" == ok ]]; then exit 0; fi

grep -E 'ERROR: |FUZZ_CHECK failed|runtime error|SUMMARY' "$WORK/log" | head -n 5 || true
echo "fuzz-target.sh: $name failed (exit $status); log: $WORK/log"
if [[ -n "$artifacts" ]]; then
  echo "fuzz-target.sh: crashing input(s), see docs/fuzzing.md to minimize and keep them:"
  # CI's build folder may be gone when someone reads its log, so small inputs are printed too.
  while IFS= read -r artifact; do
    echo "$artifact ($(stat -c %s "$artifact") bytes)"
    if (($(stat -c %s "$artifact") <= 4096)); then base64 -w 100 "$artifact"; fi
  done <<<"$artifacts"
fi
exit 1
