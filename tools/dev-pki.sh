#!/usr/bin/env bash
# Creates a development PKI for WeftKit KMS in OUTDIR (created if missing):
#
#   ca.pem / ca.key               the development CA that signs everything below
#   server.pem / server.key       kmsd's TLS certificate: DNS:localhost, IP:127.0.0.1, IP:::1
#   admin.pem / admin.key         client certificate, spiffe://TRUST_DOMAIN/admin/first-admin
#   engine.pem / engine.key       client certificate, spiffe://TRUST_DOMAIN/engine/orders
#   officer.pem / officer.key     client certificate, spiffe://TRUST_DOMAIN/officer/alice
#   dnsclient.pem / .key          client certificate with only DNS:orders.engines.TRUST_DOMAIN
#                                 (for auth.principal_from = dns)
#   rogue-ca.pem, rogue.pem/.key  a client certificate from a CA nobody trusts (for tests)
#
# All keys are ECDSA P-256, written with mode 0600. Certificates last 30 days: this PKI is for
# development and tests only. Usage: tools/dev-pki.sh OUTDIR [TRUST_DOMAIN]
set -euo pipefail

OUT=${1:?usage: dev-pki.sh OUTDIR [TRUST_DOMAIN]}
DOMAIN=${2:-weftkit.dev}
DAYS=30
mkdir -p "$OUT"
umask 077

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# make_ca NAME CN
make_ca() {
  new_key "$OUT/$1.key"
  openssl req -x509 -new -key "$OUT/$1.key" -sha256 -days "$DAYS" -subj "/O=WeftKit/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$OUT/$1.pem" 2>/dev/null
}

# make_leaf NAME CA CN EXTENDED_KEY_USAGE SUBJECT_ALT_NAMES
make_leaf() {
  local name=$1 ca=$2 cn=$3 eku=$4 san=$5
  new_key "$OUT/$name.key"
  openssl req -new -key "$OUT/$name.key" -subj "/O=WeftKit/CN=$cn" -out "$OUT/$name.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=%s\n' \
    "$eku" "$san" > "$OUT/$name.ext"
  openssl x509 -req -in "$OUT/$name.csr" -CA "$OUT/$ca.pem" -CAkey "$OUT/$ca.key" \
    -CAcreateserial -days "$DAYS" -sha256 -extfile "$OUT/$name.ext" -out "$OUT/$name.pem" 2>/dev/null
  rm -f "$OUT/$name.csr" "$OUT/$name.ext"
}

make_ca ca "WeftKit KMS development CA"
make_leaf server ca "kmsd" serverAuth "DNS:localhost,IP:127.0.0.1,IP:::1"
make_leaf admin ca "first-admin" clientAuth "URI:spiffe://$DOMAIN/admin/first-admin"
make_leaf engine ca "orders-engine" clientAuth "URI:spiffe://$DOMAIN/engine/orders"
make_leaf officer ca "alice" clientAuth "URI:spiffe://$DOMAIN/officer/alice"
make_leaf dnsclient ca "orders-engine-dns" clientAuth "DNS:orders.engines.$DOMAIN"
make_ca rogue-ca "Untrusted CA"
make_leaf rogue rogue-ca "rogue" clientAuth "URI:spiffe://$DOMAIN/engine/orders"
rm -f "$OUT"/*.srl
chmod 0644 "$OUT"/*.pem
