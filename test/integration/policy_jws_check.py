#!/usr/bin/env python3
"""Checks a served WeftKit policy bundle with jwcrypto, independently of the server's code.

Usage: policy_jws_check.py JWK_SET_FILE BUNDLE_FILE

The bundle's signature (a compact JWS) must verify with jwcrypto under the key of the JWK set
that its kid names, with alg ES256 and typ weftkit-policy-bundle+jws; its payload must name the
bundle's scope, version, content hash and publication time; and the content hash must be the
SHA-256 of the document's canonical text, computed here with Python's json module
(docs/policy-bundles.md). The same JWS with one flipped signature bit must be refused.
Prints "ok" and exits 0 when every check passes; prints the failed check and exits 1 otherwise.
"""

import base64
import hashlib
import json
import sys

from jwcrypto import jwk, jws


def fail(message):
    print(message)
    sys.exit(1)


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_payload(key_set, compact):
    token = jws.JWS()
    token.deserialize(compact)
    header = json.loads(b64url_decode(compact.split(".")[0]))
    if header.get("alg") != "ES256" or header.get("typ") != "weftkit-policy-bundle+jws":
        fail(f"unexpected header {header}")
    key = key_set.get_key(header.get("kid"))
    if key is None:
        fail("the kid is not in the JWK set")
    token.verify(key, alg="ES256")
    return json.loads(token.payload)


def main(argv):
    if len(argv) != 3:
        fail(__doc__.splitlines()[2])
    with open(argv[1], encoding="utf-8") as f:
        key_set = jwk.JWKSet.from_json(f.read())
    with open(argv[2], encoding="utf-8") as f:
        bundle = json.load(f)

    try:
        payload = verified_payload(key_set, bundle["signature"])
    except jws.InvalidJWSSignature:
        fail("jwcrypto refused the genuine signature")
    for field in ("scope", "version", "content_hash", "published_at"):
        if payload.get(field) != bundle[field]:
            fail(f"payload {field} {payload.get(field)!r} != served {bundle[field]!r}")
    canonical = json.dumps(bundle["document"], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    if hashlib.sha256(canonical.encode("utf-8")).hexdigest() != bundle["content_hash"]:
        fail("the content hash is not the SHA-256 of the canonical document")

    head, body, signature = bundle["signature"].split(".")
    raw = bytearray(b64url_decode(signature))
    raw[7] ^= 0x01
    tampered = ".".join([head, body, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])
    try:
        verified_payload(key_set, tampered)
        fail("jwcrypto accepted a flipped signature bit")
    except jws.InvalidJWSSignature:
        pass
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
