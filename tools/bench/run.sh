#!/usr/bin/env bash
# The benchmark of kmsd against two baselines measured in the same run (docs/performance.md).
#
# Usage: tools/bench/run.sh [--quick] [--seconds S] [--connections C] [--rotation-deks N]
#                           [--no-rotation] [--keep]
#   --quick             5 s per row and rotation with 10,000 instead of 1,000,000 DEKs
#   --seconds S         duration of each wrk row (default 10)
#   --connections C     keep-alive connections for the single-item rows (default 32)
#   --rotation-deks N   DEKs outstanding for the large rotation (default 1000000)
#   --no-rotation       skip tools/bench/rotation.sh (the longest part with 1M DEKs)
#   --keep              keep the temporary state folder (logs, bodies, raw results)
#
# What it does, all on loopback, over TLS 1.3 only:
#  1. builds kmsd and the bench programs in $WEFTKIT_BUILD_DIR (default build-bench,
#     RelWithDebInfo);
#  2. creates a throw-away SoftHSM token, PKI and state (tools/kms-dev-up.sh), starts kmsd with
#     its default threads (2 I/O, 16 workers) and nginx (2 workers: kmsd's I/O thread count) with
#     the same certificate, key, cipher suites and groups, no session resumption on either side,
#     serving a small static JSON body;
#  3. measures the raw HSM rate in-process (bench/weftkit-bench-hsm, 1 and 2 threads), before
#     the servers start and again just before the batch rows;
#  4. drives nginx and kmsd with the same wrk (2 threads, tools/bench/request.lua): keep-alive
#     rows authenticate with an engine's Bearer JWT (wrk cannot present a client certificate);
#     handshake rows send `Connection: close`, so every request is a new TCP connection and a
#     full TLS 1.3 handshake; the poll row is an engine asking for its policy bundle with the
#     ETag it holds (If-None-Match) and getting 304;
#  5. an engine start-up (10,000 DEKs in 10 batch unwraps over 4 mTLS connections) and 1,000
#     idle mTLS connections with bench/weftkit-bench-engine; kmsd's RSS around them;
#  6. tools/bench/rotation.sh for rotation time with 10 and with N DEKs outstanding;
#  7. prints every result with its ratio to its baseline, the target and PASS/MISS
#     (tools/bench/report.py), and the machine it ran on.
# Other work on the machine changes the absolute numbers: the load average is recorded per row,
# and the ratios are what to compare between runs.
set -euo pipefail
# The braces make bash read the whole script before running it, so editing it mid-run is safe.
{
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BUILD=${WEFTKIT_BUILD_DIR:-build-bench}
DURATION=10
CONNECTIONS=32
BATCH_CONNECTIONS=8
ROTATION_DEKS=1000000
ROTATION=1
KEEP=0
while (($#)); do
  case $1 in
    --quick) DURATION=5 ROTATION_DEKS=10000 ;;
    --seconds) DURATION=$2 && shift ;;
    --connections) CONNECTIONS=$2 && shift ;;
    --rotation-deks) ROTATION_DEKS=$2 && shift ;;
    --no-rotation) ROTATION=0 ;;
    --keep) KEEP=1 ;;
    *) echo "run.sh: unknown argument $1 (see the header of $0)" >&2 && exit 2 ;;
  esac
  shift
done
for tool in wrk nginx curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool missing; run tools/install-deps.sh" >&2; exit 1; }
done

echo "== building kmsd and the bench programs in $BUILD" >&2
[[ -f $BUILD/CMakeCache.txt ]] || cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target kmsd weftkit-hsm-init weftkit-bench-hsm weftkit-bench-engine >/dev/null

STATE=$(mktemp -d /tmp/weftkit-bench.XXXXXX)
RESULTS=$STATE/results.txt
PKI=$STATE/pki
KMSD_PID="" NGINX_PID="" CLIENT_PID=""
cleanup() {
  for pid in $CLIENT_PID $NGINX_PID $KMSD_PID; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  if ((KEEP)); then echo "state kept in $STATE" >&2; else rm -rf -- "$STATE"; fi
}
trap cleanup EXIT
ulimit -n 20000

WEFTKIT_BUILD_DIR=$BUILD WEFTKIT_DEV_SKIP_BUILD=1 WEFTKIT_STATE_DIR=$STATE WEFTKIT_DEV_NO_RUN=1 \
  tools/kms-dev-up.sh >"$STATE/dev-up.log" 2>&1
export SOFTHSM2_CONF=$STATE/softhsm2.conf
MODULE=$(sed -n 's/^module = //p' "$STATE/kmsd.conf")

# ---- baseline 1: the raw HSM, in-process, before any server runs ----
echo "== raw HSM baseline" >&2
"$BUILD/bench/weftkit-bench-hsm" --module "$MODULE" --token-label weftkit-dev \
  --pin-file "$STATE/user.pin" --seconds 3 --threads 1,2 | tee -a "$RESULTS" >&2

# ---- servers ----
sed -i 's/^listen = .*/listen = 127.0.0.1:0\nport_file = port/' "$STATE/kmsd.conf"
# The unwrap rate limits (docs/hardening.md) would answer the batch rows with 429: the benchmark
# measures throughput, so they are off here.
sed -i -e 's/^# unwrap_per_source_per_s = .*/unwrap_per_source_per_s = 0/' \
  -e 's/^# unwrap_per_principal_per_s = .*/unwrap_per_principal_per_s = 0/' "$STATE/kmsd.conf"
grep -q '^unwrap_per_principal_per_s = 0' "$STATE/kmsd.conf" ||
  { echo "run.sh: cannot turn the unwrap rate limits off in kmsd.conf" >&2; exit 1; }
"$BUILD/tools/kmsd" --config "$STATE/kmsd.conf" >"$STATE/kmsd.out" 2>"$STATE/kmsd.log" &
KMSD_PID=$!
for _ in $(seq 100); do [[ -s "$STATE/port" ]] && break; sleep 0.1; done
[[ -s "$STATE/port" ]] || { echo "run.sh: kmsd did not start, see its log:" >&2; tail "$STATE/kmsd.log" >&2; exit 1; }
KMS=https://127.0.0.1:$(cat "$STATE/port")

NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$STATE/nginx"
cat >"$STATE/nginx/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $STATE/nginx/nginx.pid;
error_log $STATE/nginx/error.log warn;
events { worker_connections 4096; }
http {
  log_format bench '\$status \$ssl_protocol reused=\$ssl_session_reused';
  access_log $STATE/nginx/access.log bench;
  client_body_temp_path $STATE/nginx/body;
  keepalive_requests 10000000;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256;
    ssl_ecdh_curve X25519:P-256;
    ssl_certificate $PKI/server.pem;
    ssl_certificate_key $PKI/server.key;
    ssl_client_certificate $PKI/ca.pem;
    ssl_verify_client optional;
    ssl_session_tickets off;
    ssl_session_cache off;
    location / {
      default_type application/json;
      return 200 '{"status":"ok"}\n';
    }
  }
}
NGINX
nginx -e "$STATE/nginx/error.log" -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" &
NGINX_PID=$!
NGINX=https://127.0.0.1:$NGINX_PORT
for _ in $(seq 50); do curl -sk -o /dev/null "$NGINX/" && break; sleep 0.1; done

# ---- helpers ----
# call WHO METHOD PATH [BODY_FILE]: prints the response body; fails on anything but 2xx.
call() {
  curl -sS --fail-with-body --cacert "$PKI/ca.pem" --cert "$PKI/$1.pem" --key "$PKI/$1.key" \
    -X "$2" -H 'content-type: application/json' --data-binary "@${4:-/dev/null}" "$KMS$3"
}
engine_token() {
  call engine POST /v1/auth/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$KMSD_PID/status"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# cpu_ticks PID...: user + system CPU time of the processes so far, in clock ticks.
cpu_ticks() {
  local pid total=0
  for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done
  echo "$total"
}
server_pids() {
  if [[ $1 == nginx* ]]; then echo "$NGINX_PID $(pgrep -P "$NGINX_PID" | tr '\n' ' ')"; else echo "$KMSD_PID"; fi
}

# row NAME CONNECTIONS URL METHOD BODY_FILE [HEADER...]: one wrk measurement, one result line,
# with the CPU time per request of the server (all its processes) and of wrk itself: on a
# shared machine these move much less than the rates do.
row() {
  local name=$1 connections=$2 url=$3 load line pids before after requests wrk_cpu
  shift 3
  load=$(load1)
  pids=$(server_pids "$name")
  # shellcheck disable=SC2086
  before=$(cpu_ticks $pids)
  local TIMEFORMAT='%U %S'
  { time wrk -t2 -c"$connections" -d"${DURATION}s" --timeout 10s -s tools/bench/request.lua "$url" \
      -- "$@" >"$STATE/wrk.out"; } 2>"$STATE/wrk.time"
  # shellcheck disable=SC2086
  after=$(cpu_ticks $pids)
  line=$(grep '^wrk ' "$STATE/wrk.out")
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
  wrk_cpu=$(awk -v n="$requests" '{ printf "%.1f", ($1 + $2) * 1e6 / n }' "$STATE/wrk.time")
  echo "row name=$name connections=$connections ${line#wrk } load=$load rss_kib=$(rss_kib)" \
    "server_cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" \
      'BEGIN { printf "%.1f", t * 1e6 / hz / n }') wrk_cpu_us=$wrk_cpu" | tee -a "$RESULTS" >&2
}
CLK_TCK=$(getconf CLK_TCK)

# ---- data: a key, envelopes under an old and under the primary version ----
echo "== preparing keys and envelopes" >&2
# The configured first administrator binds the officer and the engine to their roles.
bind() {
  echo "{\"id\":\"$1\"}" >"$STATE/principal.json"
  echo "{\"principal\":\"$1\",\"role\":\"$2\"}" >"$STATE/binding.json"
  call admin POST /v1/principals "$STATE/principal.json" >/dev/null
  call admin POST /v1/bindings "$STATE/binding.json" >/dev/null
}
bind spiffe://weftkit.dev/officer/alice key-officer
bind spiffe://weftkit.dev/engine/orders engine
echo '{"name":"orders"}' >"$STATE/key.json"
call officer POST /v1/keys "$STATE/key.json" >/dev/null
python3 - "$STATE" <<'PY'
import json, sys
state = sys.argv[1]
json.dump({"items": [{"context": {"engine": "orders", "page": str(i)}} for i in range(1000)]},
          open(f"{state}/generate-1000.json", "w"))
json.dump({"plaintext": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
           "context": {"engine": "orders", "page": "17"}}, open(f"{state}/wrap.json", "w"))
json.dump({"context": {"engine": "orders", "page": "17"}}, open(f"{state}/generate.json", "w"))
PY
# The rewrap row moves an envelope from version 1 to the primary (2): a decrypt and an encrypt.
call engine POST /v1/keys/orders/generate-data-key-without-plaintext "$STATE/generate.json" >"$STATE/old.json"
call officer POST /v1/keys/orders/rotate >/dev/null
for i in $(seq 0 9); do
  call engine POST /v1/keys/orders/batch/generate-data-key-without-plaintext \
    "$STATE/generate-1000.json" >"$STATE/generated-$i.json"
done
python3 - "$STATE" <<'PY'
import json, sys
state = sys.argv[1]
def unwrap_item(wrapped, page):
    return {"wrapped": wrapped, "context": {"engine": "orders", "page": str(page)}}
old = json.load(open(f"{state}/old.json"))
json.dump(unwrap_item(old["wrapped"], 17), open(f"{state}/rewrap.json", "w"))
for i in range(10):
    results = json.load(open(f"{state}/generated-{i}.json"))["results"]
    items = [unwrap_item(r["wrapped"], n) for n, r in enumerate(results)]
    json.dump({"items": items}, open(f"{state}/startup-{i}.json", "w"))
    if i == 0:
        json.dump(items[0], open(f"{state}/unwrap.json", "w"))
        json.dump({"items": items[:100]}, open(f"{state}/unwrap-100.json", "w"))
        json.dump({"items": items}, open(f"{state}/unwrap-1000.json", "w"))
PY

# A policy bundle for the poll row: the officer publishes version 1 of cluster/prod; the engine
# then polls with its ETag in If-None-Match, as it does between publishes, and gets 304.
python3 - "$STATE" <<'PY'
import json, sys
document = {"format": "weftkit.policy/v1",
            "roles": [{"name": "reader", "grants": [{"database_type": "relational",
                                                     "actions": ["select"],
                                                     "resources": ["orders.*"]}]}],
            "bindings": [{"principal": "alice", "roles": ["reader"]}]}
json.dump({"document": document, "base_version": 0, "comment": "benchmark"},
          open(f"{sys.argv[1]}/publish.json", "w"))
PY
BUNDLE=/v1/policy/scopes/cluster/prod/bundle
call officer POST /v1/policy/scopes/cluster/prod/versions "$STATE/publish.json" >/dev/null
ETAG=$(curl -sS --fail -D - -o /dev/null --cacert "$PKI/ca.pem" --cert "$PKI/engine.pem" \
  --key "$PKI/engine.key" "$KMS$BUNDLE" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
poll_status=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.pem" \
  --cert "$PKI/engine.pem" --key "$PKI/engine.key" -H "If-None-Match: $ETAG" "$KMS$BUNDLE")
[[ $poll_status == 304 ]] || { echo "run.sh: bundle poll answered $poll_status, not 304" >&2; exit 1; }

# ---- wrk rows: nginx, kmsd, nginx again (to see how much the machine's load moved) ----
echo "== wrk rows, ${DURATION}s each" >&2
row nginx_keepalive "$CONNECTIONS" "$NGINX/" GET -
row nginx_handshake "$CONNECTIONS" "$NGINX/" GET - "Connection: close"
row kmsd_handshake "$CONNECTIONS" "$KMS/healthz" GET - "Connection: close"
row kmsd_healthz "$CONNECTIONS" "$KMS/healthz" GET -
for op in wrap unwrap generate-data-key rewrap; do
  body=$STATE/$op.json
  [[ $op == generate-data-key ]] && body=$STATE/generate.json
  row "kmsd_$op" "$CONNECTIONS" "$KMS/v1/keys/orders/$op" POST "$body" \
    "Authorization: Bearer $(engine_token)"
done
# The raw HSM rate again, next to the rows divided by it: on a shared machine it moves with the
# load, and report.py divides by the higher of the two measurements.
"$BUILD/bench/weftkit-bench-hsm" --module "$MODULE" --token-label weftkit-dev \
  --pin-file "$STATE/user.pin" --seconds 3 --threads 1,2 | tee -a "$RESULTS" >&2
for n in 100 1000; do
  row "kmsd_batch_unwrap_$n" "$BATCH_CONNECTIONS" "$KMS/v1/keys/orders/batch/unwrap" POST \
    "$STATE/unwrap-$n.json" "Authorization: Bearer $(engine_token)"
done
row kmsd_poll_304 "$CONNECTIONS" "$KMS$BUNDLE" GET - "Authorization: Bearer $(engine_token)" \
  "If-None-Match: $ETAG"
row nginx_keepalive_after "$CONNECTIONS" "$NGINX/" GET -
echo "nginx_session_reuse reused=$(grep -c 'reused=r' "$STATE/nginx/access.log" || true)" >>"$RESULTS"

# ---- an engine starting up: 10,000 DEKs, 10 batches of 1,000, 4 mTLS connections ----
TIMEFORMAT='%U %S'
echo "== engine start-up and idle connections" >&2
ENGINE_TLS=(--port "$(cat "$STATE/port")" --ca "$PKI/ca.pem" --cert "$PKI/engine.pem" --key "$PKI/engine.key")
# Also the CPU time of kmsd and of the client per start-up: with both cores free, the start-up
# cannot take less than half their sum, and that estimate hardly moves with the machine's load.
for attempt in 1 2 3; do
  load=$(load1)
  before=$(cpu_ticks "$KMSD_PID")
  { time "$BUILD/bench/weftkit-bench-engine" startup "${ENGINE_TLS[@]}" --key-name orders \
      --connections 4 "$STATE"/startup-?.json >"$STATE/startup.out"; } 2>"$STATE/startup.time"
  server_ms=$(awk -v t=$(($(cpu_ticks "$KMSD_PID") - before)) -v hz="$CLK_TCK" \
    'BEGIN { printf "%.0f", t * 1000 / hz }')
  client_ms=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$STATE/startup.time")
  echo "$(cat "$STATE/startup.out") attempt=$attempt load=$load server_cpu_ms=$server_ms" \
    "client_cpu_ms=$client_ms" | tee -a "$RESULTS" >&2
done

# ---- RSS with 1,000 idle TLS connections ----
rss_before=$(rss_kib)
"$BUILD/bench/weftkit-bench-engine" idle "${ENGINE_TLS[@]}" --connections 1000 --hold-s 120 \
  >"$STATE/idle.out" &
CLIENT_PID=$!
for _ in $(seq 600); do grep -q '^idle open' "$STATE/idle.out" && break; sleep 0.2; done
grep -q '^idle open' "$STATE/idle.out" || { echo "run.sh: idle connections failed" >&2; exit 1; }
sleep 1
echo "idle connections=1000 rss_before_kib=$rss_before rss_kib=$(rss_kib) load=$(load1)" |
  tee -a "$RESULTS" >&2
kill "$CLIENT_PID" && wait "$CLIENT_PID" 2>/dev/null || true
CLIENT_PID=""
echo "kmsd peak_rss_kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$KMSD_PID/status")" >>"$RESULTS"

# ---- rotation with 10 and with N DEKs outstanding (its own kmsd) ----
kill "$KMSD_PID" "$NGINX_PID" && wait "$KMSD_PID" "$NGINX_PID" 2>/dev/null || true
KMSD_PID="" NGINX_PID=""
if ((ROTATION)); then
  echo "== rotation with 10 and $ROTATION_DEKS DEKs (tools/bench/rotation.sh)" >&2
  WEFTKIT_BUILD_DIR=$BUILD WEFTKIT_DEV_SKIP_BUILD=1 tools/bench/rotation.sh "$ROTATION_DEKS" 20 |
    tee "$STATE/rotation.out" >&2
  grep '^rotation deks=' "$STATE/rotation.out" >>"$RESULTS"
fi

{
  echo "machine nproc=$(nproc) cpu=\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\"" \
    "ram_mib=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) kernel=$(uname -r)" \
    "date=$(date -u +%Y-%m-%dT%H:%MZ)"
} >>"$RESULTS"
python3 tools/bench/report.py "$RESULTS"
exit
}
