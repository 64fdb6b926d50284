#!/usr/bin/env bash
# The rotation story of docs/example-engine.md, against a running kmsd:
#
#   1. the administrator binds the officer and engine certificates to their roles;
#   2. a key officer creates the master key with kmsctl;
#   3. the example engine generates its DEKs, unwraps them in one batch and writes its pages;
#   4. the officer rotates the master key with kmsctl;
#   5. the engine reads every page again: the page files are byte for byte unchanged (same
#      SHA-256), because rotating a master key never re-encrypts data;
#   6. kmsctl dek bulk-rewrap moves the engine's stored envelopes to the new key version: the
#      envelopes change, the pages still do not, and everything still reads.
#
# Usage: examples/demo.sh            (after tools/kms-dev-up.sh, from the repository root)
# Environment: KMS (https://127.0.0.1:8443), PKI (state/pki), BUILD (build), KEY
# (orders.example; the engine certificate owns orders and orders.*), WORK (a new temporary
# folder for the engine's files).
set -euo pipefail

KMS=${KMS:-https://127.0.0.1:8443}
PKI=${PKI:-state/pki}
BUILD=${BUILD:-build}
KEY=${KEY:-orders.example}
WORK=${WORK:-$(mktemp -d)}
KMSCTL=$BUILD/tools/kmsctl
ENGINE=$BUILD/examples/weftkit-example-engine
for binary in "$KMSCTL" "$ENGINE"; do
  [[ -x $binary ]] || { echo "demo: $binary is missing; build kmsctl and weftkit-example-engine" >&2; exit 1; }
done

step() { printf '\n== %s\n' "$*"; }
as() {  # as IDENTITY kmsctl-arguments...
  local who=$1
  shift
  "$KMSCTL" --server "$KMS" --ca "$PKI/ca.pem" --cert "$PKI/$who.pem" --key "$PKI/$who.key" "$@"
}
allow_exists() { "$@" >/dev/null || [[ $? == 5 ]]; }  # exit code 5: already there
engine() {
  "$ENGINE" --server "$KMS" --ca "$PKI/ca.pem" --cert "$PKI/engine.pem" --key "$PKI/engine.key" \
    --dir "$WORK" --key-name "$KEY" "$@"
}
pages_hash() { cat "$WORK"/pages-*.db | sha256sum | cut -d' ' -f1; }
deks_hash() { sha256sum <"$WORK/deks.jsonl" | cut -d' ' -f1; }

step "1. the administrator binds the officer and the engine"
allow_exists as admin principals create spiffe://weftkit.dev/officer/alice
allow_exists as admin bindings add spiffe://weftkit.dev/officer/alice key-officer
allow_exists as admin principals create spiffe://weftkit.dev/engine/orders
allow_exists as admin bindings add spiffe://weftkit.dev/engine/orders engine

step "2. the key officer creates the master key $KEY"
allow_exists as officer keys create "$KEY" --description "example engine"
before_version=$(as officer keys show "$KEY" --json | grep -o '"primary_version": [0-9]*' | grep -o '[0-9]*$')
echo "primary version: $before_version"

step "3. the engine starts, unwraps its DEKs in one batch and writes its pages ($WORK)"
engine write
pages_before=$(pages_hash)
deks_before=$(deks_hash)
echo "pages sha256: $pages_before"

step "4. the key officer rotates $KEY"
after_version=$(as officer keys rotate "$KEY" --json | grep -o '"primary_version": [0-9]*' | grep -o '[0-9]*$')
echo "primary version: $before_version -> $after_version"

step "5. the engine restarts and reads everything; no page was re-encrypted"
engine read
pages_after=$(pages_hash)
echo "pages sha256: $pages_after"
[[ $pages_before == "$pages_after" ]] || { echo "demo: the pages changed" >&2; exit 1; }
echo "page files unchanged by the rotation"

step "6. bulk rewrap moves the stored envelopes to version $after_version"
as engine dek bulk-rewrap --in "$WORK/deks.jsonl" --out "$WORK/deks.rewrapped.jsonl"
grep -q "\"key_version\":$after_version" "$WORK/deks.rewrapped.jsonl" ||
  { echo "demo: the envelopes did not move to version $after_version" >&2; exit 1; }
mv "$WORK/deks.rewrapped.jsonl" "$WORK/deks.jsonl"
[[ $(deks_hash) != "$deks_before" ]] || { echo "demo: the envelopes did not change" >&2; exit 1; }
engine read
[[ $(pages_hash) == "$pages_before" ]] || { echo "demo: the pages changed" >&2; exit 1; }
echo "envelopes rewrapped, pages unchanged, everything reads"

echo
echo "demo passed"
