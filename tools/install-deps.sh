#!/usr/bin/env bash
# Installs every Debian 12 package WeftKit KMS needs to build, run and test.
# Idempotent: packages already present are skipped, so a second run costs one dpkg query.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev  # tools/run-tests.sh stage fuzz: clang++ and libFuzzer (compiler-rt)
  libssl-dev openssl
  libboost-dev libboost-system-dev
  libsqlite3-dev sqlite3
  zlib1g-dev
  libicu-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest
  libp11-kit-dev p11-kit
  softhsm2 libsofthsm2
  libp11-dev libengine-pkcs11-openssl
  opensc
  curl
  python3 python3-jwt python3-jwcrypto python3-cryptography python3-yaml python3-jsonschema
  libauthen-scram-perl
  wrk nginx-light  # tools/bench/run.sh: the load generator and the static HTTPS baseline
  testssl.sh       # test/integration/testssl_test.cc: the TLS scan of the running server
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO="sudo"
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
