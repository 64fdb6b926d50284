#!/usr/bin/env python3
"""Interoperability of WeftKit API tokens with two independent JOSE implementations.

Runs issue_token_tool (a fresh SoftHSM token; one token, a signing-key rotation, another token)
and checks its output with PyJWT and with jwcrypto, both from Debian's packages
(python3-jwt, python3-jwcrypto):

  * both tokens verify against the published JWK set, found by kid, with ES256 only, the
    expected issuer and audience, and carry the claims docs/tokens.md promises;
  * the JWK set lists both keys during the rotation, and each kid is the RFC 7638 thumbprint;
  * a token issued for another audience, a token with a flipped signature bit and a token whose
    claims were changed are refused by both libraries.

Usage: jwt_interop_test.py <path to issue_token_tool>
Exits 0 when every check passes, 1 otherwise (CTest reads the exit status).
"""

import base64
import json
import subprocess
import sys
import unittest

import jwt as pyjwt
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto import jwt as jc_jwt

TOOL = None
REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "auth_method"]


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def tamper_signature(token):
    head, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    return ".".join([head, payload, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])


def tamper_claims(token):
    head, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = "spiffe://weftkit.dev/admin/root"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return ".".join([head, forged, signature])


class JwtInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        result = subprocess.run([TOOL], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError("issue_token_tool failed: " + result.stderr)
        cls.out = json.loads(result.stdout)
        cls.jwks = cls.out["jwks"]

    # ---- PyJWT ----

    def pyjwt_key(self, token):
        kid = pyjwt.get_unverified_header(token)["kid"]
        keys = [key for key in pyjwt.PyJWKSet.from_dict(self.jwks).keys if key.key_id == kid]
        self.assertEqual(len(keys), 1, "kid not in the JWK set")
        return keys[0].key

    def pyjwt_decode(self, token, audience=None):
        return pyjwt.decode(
            token,
            self.pyjwt_key(token),
            algorithms=["ES256"],
            audience=audience or self.out["audience"],
            issuer=self.out["issuer"],
            options={"require": REQUIRED_CLAIMS},
        )

    def test_pyjwt_verifies_tokens_of_both_keys(self):
        for issued in self.out["tokens"]:
            header = pyjwt.get_unverified_header(issued["token"])
            self.assertEqual(header, {"alg": "ES256", "typ": "at+jwt", "kid": issued["kid"]})
            claims = self.pyjwt_decode(issued["token"])
            self.assertEqual(claims["sub"], issued["sub"])
            self.assertEqual(claims["jti"], issued["jti"])
            self.assertEqual(claims["auth_method"], issued["auth_method"])
            self.assertEqual(claims["aud"], self.out["audience"])
            self.assertEqual(claims["exp"] - claims["iat"], 300)
            self.assertEqual(sorted(claims), sorted(REQUIRED_CLAIMS))

    def test_pyjwt_refuses_other_audience(self):
        with self.assertRaises(pyjwt.InvalidAudienceError):
            self.pyjwt_decode(self.out["other_audience_token"])
        # The same token is fine for the service it was issued to.
        self.pyjwt_decode(self.out["other_audience_token"], audience=self.out["other_audience"])

    def test_pyjwt_refuses_tampered_tokens(self):
        token = self.out["tokens"][1]["token"]
        for tampered in (tamper_signature(token), tamper_claims(token)):
            with self.assertRaises(pyjwt.InvalidSignatureError):
                self.pyjwt_decode(tampered)

    # ---- jwcrypto ----

    def jwcrypto_claims(self, token, audience=None):
        keyset = jc_jwk.JWKSet.from_json(json.dumps(self.jwks))
        kid = json.loads(b64url_decode(token.split(".")[0]))["kid"]
        key = keyset.get_key(kid)
        self.assertIsNotNone(key, "kid not in the JWK set")
        checked = jc_jwt.JWT(
            jwt=token,
            key=key,
            algs=["ES256"],
            check_claims={
                "iss": self.out["issuer"],
                "aud": audience or self.out["audience"],
                "exp": None,
                "nbf": None,
            },
        )
        return json.loads(checked.claims)

    def test_jwcrypto_verifies_tokens_of_both_keys(self):
        for issued in self.out["tokens"]:
            claims = self.jwcrypto_claims(issued["token"])
            self.assertEqual(claims["sub"], issued["sub"])
            self.assertEqual(claims["jti"], issued["jti"])

    def test_jwcrypto_refuses_other_audience(self):
        with self.assertRaises(jc_jwt.JWTInvalidClaimValue):
            self.jwcrypto_claims(self.out["other_audience_token"])

    def test_jwcrypto_refuses_tampered_tokens(self):
        token = self.out["tokens"][1]["token"]
        for tampered in (tamper_signature(token), tamper_claims(token)):
            with self.assertRaises(jc_jws.InvalidJWSSignature):
                self.jwcrypto_claims(tampered)

    # ---- The JWK set ----

    def test_jwks_lists_both_keys_during_rotation(self):
        kids = [key["kid"] for key in self.jwks["keys"]]
        self.assertEqual(len(kids), 2)
        self.assertEqual(set(kids), {issued["kid"] for issued in self.out["tokens"]})
        for key in self.jwks["keys"]:
            self.assertEqual(key["kty"], "EC")
            self.assertEqual(key["crv"], "P-256")
            self.assertEqual(key["alg"], "ES256")
            self.assertEqual(key["use"], "sig")
            self.assertNotIn("d", key)

    def test_kid_is_rfc7638_thumbprint(self):
        for key in self.jwks["keys"]:
            public = {name: key[name] for name in ("kty", "crv", "x", "y")}
            thumbprint = jc_jwk.JWK(**public).thumbprint()
            self.assertEqual(key["kid"], thumbprint)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    TOOL = sys.argv[1]
    program = unittest.main(argv=sys.argv[:1], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)
