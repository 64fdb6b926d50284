#!/usr/bin/env bash
# kmsd's CPU time per request and rate for a 304 bundle poll and a single unwrap, with a given
# number of workers, on the state folder a `tools/bench/run.sh --keep` left (docs/performance.md,
# fix 5). Run it for several worker counts, alternating, to compare them at the same load.
#
# Usage: tools/bench/workers.sh STATE_DIR WORKERS [SECONDS]
#   WEFTKIT_BUILD_DIR picks the build directory with tools/kmsd (default build-bench).
# Prints one line per row: workers, row, rate, p99 and kmsd's CPU µs per request.
set -euo pipefail
STATE=$(cd "$1" && pwd) WORKERS=$2 SECONDS_PER_ROW=${3:-5}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KMSD_BINARY=$(cd "$ROOT" && realpath "${WEFTKIT_BUILD_DIR:-build-bench}/tools/kmsd")
cd "$STATE"
export SOFTHSM2_CONF=$STATE/softhsm2.conf
# kms-dev-up.sh writes the workers setting commented out; this copy sets it.
sed -e "s/^# workers = .*/workers = $WORKERS/" -e "s/^# sessions = .*/sessions = $WORKERS/" \
  kmsd.conf >kmsd-workers.conf
grep -q "^workers = $WORKERS" kmsd-workers.conf || { echo "workers.sh: no workers line" >&2; exit 1; }
rm -f port
"$KMSD_BINARY" --config kmsd-workers.conf >/dev/null 2>kmsd-workers.log &
KMSD=$!
trap 'kill $KMSD 2>/dev/null; wait $KMSD 2>/dev/null' EXIT
for _ in $(seq 100); do [[ -s port ]] && break; sleep 0.1; done
[[ -s port ]] || { echo "workers.sh: kmsd did not start, see $STATE/kmsd-workers.log" >&2; exit 1; }
KMS=https://127.0.0.1:$(cat port)
TLS=(--cacert pki/ca.pem --cert pki/engine.pem --key pki/engine.key)
TOKEN=$(curl -sS --fail "${TLS[@]}" -X POST "$KMS/v1/auth/tokens" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
BUNDLE=/v1/policy/scopes/cluster/prod/bundle
ETAG=$(curl -sS --fail -D - -o /dev/null "${TLS[@]}" "$KMS$BUNDLE" | tr -d '\r' |
  sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
HZ=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$KMSD/stat"; }
row() {
  local name=$1 before after line requests
  shift
  before=$(ticks)
  line=$(wrk -t2 -c32 -d"${SECONDS_PER_ROW}s" --timeout 10s -s "$ROOT/tools/bench/request.lua" "$@" |
    grep '^wrk ')
  after=$(ticks)
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  echo "workers=$WORKERS row=$name $(grep -o 'rps=[0-9.]*' <<<"$line") $(grep -o 'p99_us=[0-9]*' <<<"$line")" \
    "non2xx=$(sed 's/.*non2xx=\([0-9]*\).*/\1/' <<<"$line")" \
    "server_cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')" \
    "load=$(cut -d' ' -f1 /proc/loadavg)"
}
row poll304 "$KMS$BUNDLE" -- GET - "Authorization: Bearer $TOKEN" "If-None-Match: $ETAG"
row unwrap "$KMS/v1/keys/orders/unwrap" -- POST "$STATE/unwrap.json" "Authorization: Bearer $TOKEN"
