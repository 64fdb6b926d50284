#!/usr/bin/env bash
# Shows that rotating a master key costs the same with 10 and with 1,000,000 DEKs outstanding.
#
# Usage: tools/bench/rotation.sh [DEKS_LARGE (default 1000000)] [ROTATIONS (default 20)]
# (tools/bench/run.sh runs it as part of the whole benchmark; it also works alone.)
#
# It builds kmsd (unless WEFTKIT_DEV_SKIP_BUILD=1), creates a throw-away state folder with a
# fresh SoftHSM token, PKI and database (tools/kms-dev-up.sh with WEFTKIT_STATE_DIR), starts kmsd
# on a free loopback port, then for two keys:
#   small  10 DEKs wrapped under it
#   large  DEKS_LARGE DEKs wrapped under it (batches of 1000, generate-data-key-without-plaintext)
# times ROTATIONS rotations of each, the two keys taking turns, over TLS 1.3 with the officer's
# certificate, and prints the median and maximum server time per rotation (curl's time to first
# byte minus its TLS set-up time, so connection set-up is not counted), also as machine-readable
# "rotation deks=N median_ms=... max_ms=... n=..." lines. Everything is removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
LARGE=${1:-1000000}
ROTATIONS=${2:-20}
BUILD=${WEFTKIT_BUILD_DIR:-build}
STATE=$(mktemp -d /tmp/weftkit-rotation-bench.XXXXXX)
KMSD_PID=""

cleanup() {
  [[ -n "$KMSD_PID" ]] && kill "$KMSD_PID" 2>/dev/null && wait "$KMSD_PID" 2>/dev/null
  rm -rf -- "$STATE"
}
trap cleanup EXIT

WEFTKIT_STATE_DIR=$STATE WEFTKIT_DEV_NO_RUN=1 tools/kms-dev-up.sh >/dev/null 2>&1
sed -i 's/^listen = .*/listen = 127.0.0.1:0\nport_file = port/' "$STATE/kmsd.conf"
SOFTHSM2_CONF=$STATE/softhsm2.conf "$BUILD/tools/kmsd" --config "$STATE/kmsd.conf" \
  >"$STATE/kmsd.out" 2>"$STATE/kmsd.log" &
KMSD_PID=$!
for _ in $(seq 100); do [[ -s "$STATE/port" ]] && break; sleep 0.1; done
URL=https://127.0.0.1:$(cat "$STATE/port")

# call IDENTITY METHOD PATH [BODY_FILE]: prints the HTTP status, fails on anything but 2xx.
call() {
  local who=$1 method=$2 path=$3 body=${4:-/dev/null}
  curl -sS --fail-with-body -o /dev/null --cacert "$STATE/pki/ca.pem" \
    --cert "$STATE/pki/$who.pem" --key "$STATE/pki/$who.key" -X "$method" \
    -H 'content-type: application/json' --data-binary "@$body" "$URL$path"
}

# wrap_deks KEY COUNT: wraps COUNT fresh DEKs under KEY, 1000 per request, over one connection
# per batch of requests.
wrap_deks() {
  local key=$1 count=$2 batch
  python3 -c 'import json,sys; print(json.dumps({"items": [{}] * int(sys.argv[1])}))' \
    "$((count < 1000 ? count : 1000))" >"$STATE/batch.json"
  for ((done = 0; done < count; done += 1000)); do
    call engine POST "/v1/keys/$key/batch/generate-data-key-without-plaintext" "$STATE/batch.json"
  done
}

# time_rotation KEY: prints the server time of one rotation of KEY, in milliseconds.
time_rotation() {
  curl -sS --fail -o /dev/null --cacert "$STATE/pki/ca.pem" \
    --cert "$STATE/pki/officer.pem" --key "$STATE/pki/officer.key" -X POST \
    -w '%{time_appconnect} %{time_starttransfer}\n' "$URL/v1/keys/$1/rotate" |
    awk '{ printf "%.3f\n", ($2 - $1) * 1000 }'
}

summary() {
  sort -n | awk '{ v[NR] = $1 } END { printf "median %.2f ms, max %.2f ms (n=%d)", v[int((NR + 1) / 2)], v[NR], NR }'
}

# machine_line DEKS SUMMARY: the same numbers as key=value pairs, for tools/bench/report.py.
machine_line() {
  awk -v deks="$1" '{ gsub(/[(),=]/, " "); printf "rotation deks=%d median_ms=%s max_ms=%s n=%s\n", deks, $2, $5, $8 }' <<<"$2"
}

# The configured first administrator binds the officer and the engine to their roles.
bind() {
  echo "{\"id\":\"$1\"}" >"$STATE/principal.json"
  echo "{\"principal\":\"$1\",\"role\":\"$2\"}" >"$STATE/binding.json"
  call admin POST /v1/principals "$STATE/principal.json" >/dev/null
  call admin POST /v1/bindings "$STATE/binding.json" >/dev/null
}
bind spiffe://weftkit.dev/officer/alice key-officer
bind spiffe://weftkit.dev/engine/orders engine

echo '{"name":"orders"}' >"$STATE/small.json"
echo '{"name":"orders.large"}' >"$STATE/large.json"
call officer POST /v1/keys "$STATE/small.json"
call officer POST /v1/keys "$STATE/large.json"

start=$(date +%s)
wrap_deks orders 10
wrap_deks orders.large "$LARGE"
echo "wrapped 10 + $LARGE DEKs in $(($(date +%s) - start)) s"

# The two keys take turns, so both see the same number of token objects (each rotation adds one,
# and SoftHSM's costs grow with the count) and the same load from whatever else runs.
for ((i = 0; i < ROTATIONS; i++)); do
  time_rotation orders >>"$STATE/small.ms"
  time_rotation orders.large >>"$STATE/large.ms"
done
small=$(summary <"$STATE/small.ms")
large=$(summary <"$STATE/large.ms")
echo "rotation with 10 DEKs outstanding:        $small"
echo "rotation with $LARGE DEKs outstanding:  $large"
machine_line 10 "$small"
machine_line "$LARGE" "$large"
echo "machine: $(nproc) cores, $(uname -srm); $(date -u +%Y-%m-%dT%H:%MZ)"
