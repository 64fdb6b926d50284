#!/usr/bin/env bash
# Builds kmsd and runs it in the foreground against a development SoftHSM token.
# The README's first command. Ctrl-C stops the server; running the script again reuses state/.
#
# Usage: tools/kms-dev-up.sh [--reset] [--help]
#   --reset   delete state/ (PKI, PINs, token, database) and create it afresh
#
# The first run creates state/ in the repository root (gitignored, mode 0700):
#   pki/                    development PKI from tools/dev-pki.sh: ca, server, admin, engine,
#                           officer, dnsclient and rogue certificates with their keys
#   so.pin, user.pin        random PINs of the token (openssl rand -hex 16), mode 0600
#   softhsm2.conf, tokens/  a SoftHSM configuration whose tokens live in state/tokens
#                           (the token "weftkit-dev", initialised with weftkit-hsm-init)
#   kmsd.conf               conf/kmsd.conf pointed at the files above
#   kms.db                  the SQLite store, created by kmsd when it starts
#
# Environment, for testing this script (normally leave unset):
#   WEFTKIT_BUILD_DIR        build directory (default: build)
#   WEFTKIT_STATE_DIR        state directory (default: state)
#   WEFTKIT_SOFTHSM_MODULE   the SoftHSM module (default: found under /usr/lib)
#   WEFTKIT_DEV_SKIP_BUILD=1 skip tools/install-deps.sh and the build; use the binaries that are
#                            already in the build directory
#   WEFTKIT_DEV_NO_RUN=1     prepare everything and print the example calls, but do not start kmsd
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${WEFTKIT_BUILD_DIR:-build}
STATE=${WEFTKIT_STATE_DIR:-state}
TOKEN_LABEL=weftkit-dev

say() { printf 'kms-dev-up: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

reset=0
for arg in "$@"; do
  case "$arg" in
    --reset) reset=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

if ((reset)); then
  [[ -n "$STATE" && "$STATE" != "/" && "$STATE" != "." ]] || die "refusing to delete '$STATE'"
  say "--reset: deleting $STATE/"
  rm -rf -- "$STATE"
fi

# --- Build -----------------------------------------------------------------------------------

build() {
  tools/install-deps.sh
  say "building kmsd and weftkit-hsm-init in $BUILD/ (RelWithDebInfo)"
  if ! cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    ! cmake --build "$BUILD" --target kmsd weftkit-hsm-init; then
    die "the build failed (see the compiler output above); kmsd cannot start until it builds"
  fi
}

if [[ "${WEFTKIT_DEV_SKIP_BUILD:-0}" != 1 ]]; then
  build
fi
KMSD=$BUILD/tools/kmsd
HSM_INIT=$BUILD/tools/weftkit-hsm-init
for binary in "$KMSD" "$HSM_INIT"; do
  [[ -x "$binary" ]] || die "$binary is missing; build it (run this script without WEFTKIT_DEV_SKIP_BUILD)"
done

# --- State -----------------------------------------------------------------------------------

find_softhsm() {
  local candidate
  for candidate in "${WEFTKIT_SOFTHSM_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so \
    /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so; do
    if [[ -n "$candidate" && -f "$candidate" ]]; then
      echo "$candidate"
      return
    fi
  done
  die "libsofthsm2.so not found; run tools/install-deps.sh (package softhsm2)"
}

make_pki() {
  [[ -f "$STATE/pki/ca.pem" && -f "$STATE/pki/rogue.pem" ]] && return
  say "creating the development PKI in $STATE/pki"
  rm -rf -- "$STATE/pki"
  tools/dev-pki.sh "$STATE/pki"
}

# The PINs belong to the token: they are made only together with a new token.
token_exists() { [[ -n "$(ls -A "$STATE/tokens" 2>/dev/null)" ]]; }

make_token() {
  if token_exists; then
    [[ -f "$STATE/so.pin" && -f "$STATE/user.pin" ]] ||
      die "$STATE/tokens holds a token but its PIN files are gone; run with --reset"
    return
  fi
  say "initialising SoftHSM token '$TOKEN_LABEL' in $STATE/tokens"
  openssl rand -hex 16 >"$STATE/so.pin"
  openssl rand -hex 16 >"$STATE/user.pin"
  mkdir -p "$STATE/tokens"
  "$HSM_INIT" --module "$MODULE" --label "$TOKEN_LABEL" \
    --so-pin-file "$STATE/so.pin" --pin-file "$STATE/user.pin" ||
    die "weftkit-hsm-init failed; fix the cause above, then run with --reset"
}

make_softhsm_conf() {
  [[ -f "$STATE/softhsm2.conf" ]] && return
  cat >"$STATE/softhsm2.conf" <<EOF
# SoftHSM configuration for WeftKit KMS development, written by tools/kms-dev-up.sh.
directories.tokendir = $STATE_ABS/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
}

# Copies conf/kmsd.conf, setting `key = value` in [section] for each "section key value"
# argument, whether the key was set or commented out in the example.
write_kmsd_conf() {
  awk -v settings="$*" '
    BEGIN {
      n = split(settings, words, " ")
      for (i = 1; i + 2 <= n; i += 3) value[words[i] "." words[i + 1]] = words[i + 2]
    }
    /^\[[a-z_]+\]/ { section = substr($1, 2, length($1) - 2) }
    {
      line = $0
      if (match(line, /^#? ?[a-z_0-9]+ =/)) {
        key = line
        sub(/^#? ?/, "", key)
        sub(/ =.*/, "", key)
        if ((section "." key) in value && !done[section "." key]++) {
          line = key " = " value[section "." key]
        }
      }
      print line
    }' conf/kmsd.conf
}

make_kmsd_conf() {
  [[ -f "$STATE/kmsd.conf" ]] && return
  say "writing $STATE/kmsd.conf from conf/kmsd.conf"
  {
    echo "# Written by tools/kms-dev-up.sh from conf/kmsd.conf for development. Edit freely;"
    echo "# tools/kms-dev-up.sh --reset writes it afresh."
    write_kmsd_conf \
      tls certificate pki/server.pem tls private_key pki/server.key tls client_ca pki/ca.pem \
      hsm module "$MODULE" hsm token_label "$TOKEN_LABEL" hsm pin_file user.pin \
      state directory . auth bootstrap_admin spiffe://weftkit.dev/admin/first-admin
  } >"$STATE/kmsd.conf.tmp"
  mv "$STATE/kmsd.conf.tmp" "$STATE/kmsd.conf"
}

umask 077
mkdir -p "$STATE"
chmod 700 "$STATE"
STATE_ABS=$(cd "$STATE" && pwd)
MODULE=$(find_softhsm)
export SOFTHSM2_CONF=$STATE_ABS/softhsm2.conf
make_pki
make_softhsm_conf
make_token
make_kmsd_conf

# --- Run -------------------------------------------------------------------------------------

# The listening port, as written in kmsd.conf.
PORT=$(sed -n 's/^listen = .*:\([0-9]*\)$/\1/p' "$STATE/kmsd.conf" | head -n 1)
PORT=${PORT:-8443}
# Paths as the user will type them from the repository root.
P=${STATE_ABS#"$ROOT"/}
URL=https://127.0.0.1:$PORT

cat <<EOF

WeftKit KMS (development) -- state in $P/, configuration $P/kmsd.conf
From the repository root, in another terminal:

  # Liveness (no client certificate needed):
  curl --cacert $P/pki/ca.pem $URL/healthz

  # Once, as the first administrator (the admin certificate): register the key officer and the
  # orders engine, and bind them to their roles. Deny-by-default: unbound callers get 403.
  ADMIN="--cacert $P/pki/ca.pem --cert $P/pki/admin.pem --key $P/pki/admin.key -H content-type:application/json"
  curl \$ADMIN $URL/v1/principals -d '{"id":"spiffe://weftkit.dev/officer/alice"}'
  curl \$ADMIN $URL/v1/bindings -d '{"principal":"spiffe://weftkit.dev/officer/alice","role":"key-officer"}'
  curl \$ADMIN $URL/v1/principals -d '{"id":"spiffe://weftkit.dev/engine/orders"}'
  curl \$ADMIN $URL/v1/bindings -d '{"principal":"spiffe://weftkit.dev/engine/orders","role":"engine"}'

  # Create the master key "orders" as the key officer:
  curl --cacert $P/pki/ca.pem --cert $P/pki/officer.pem --key $P/pki/officer.key \\
    $URL/v1/keys -H 'content-type: application/json' -d '{"name":"orders"}'

  # Generate a data key as the orders engine:
  curl --cacert $P/pki/ca.pem --cert $P/pki/engine.pem --key $P/pki/engine.key \\
    $URL/v1/keys/orders/generate-data-key -H 'content-type: application/json' -d '{}'

EOF

if [[ "${WEFTKIT_DEV_NO_RUN:-0}" == 1 ]]; then
  say "WEFTKIT_DEV_NO_RUN=1: not starting kmsd"
  exit 0
fi
say "starting $KMSD --config $P/kmsd.conf (Ctrl-C stops it)"
exec "$KMSD" --config "$STATE_ABS/kmsd.conf"
