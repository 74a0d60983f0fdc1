"""What a provider's service does with Latchkey's access tokens, done with OAuth and JWT libraries not written
here: Authlib (RFC 7662 introspection, RFC 7009 revocation, and its resource-server token validator) and
PyJWT (verification against the JWKS). Each command prints one JSON object on stdout.

    python oauth_client.py verify --jwks URL --issuer ISS --token JWT
    python oauth_client.py introspect --url URL --service-token TOKEN --token JWT [--scope orders:read]
    python oauth_client.py revoke --url URL --key KEY --token JWT
"""

import argparse
import json
import os
import sys

# The tests talk to Latchkey over plain HTTP on loopback.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import jwt  # noqa: E402  (PyJWT)
import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.oauth2.rfc6750 import InsufficientScopeError, InvalidTokenError  # noqa: E402
from authlib.oauth2.rfc7662 import IntrospectTokenValidator  # noqa: E402


class Bearer(requests.auth.AuthBase):
    """`Authorization: Bearer <credential>`: a service token for introspection, the API key for revocation."""

    def __init__(self, credential):
        self.credential = credential

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.credential}"
        return request


def verify(args):
    client = jwt.PyJWKClient(args.jwks)
    key = client.get_signing_key_from_jwt(args.token)
    claims = jwt.decode(
        args.token,
        key.key,
        algorithms=["EdDSA"],
        audience=args.audience or args.issuer,
        issuer=args.issuer,
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    return {"verified": True, "claims": claims}


def introspect(args):
    session = OAuth2Session()
    response = session.introspect_token(args.url, token=args.token, auth=Bearer(args.service_token))
    answer = response.json()

    class Validator(IntrospectTokenValidator):
        def introspect_token(self, token_string):
            return answer

    validator = Validator()
    scopes = [args.scope] if args.scope else None
    try:
        validator.validate_token(validator.authenticate_token(args.token), scopes, None)
        accepted, why = True, None
    except (InvalidTokenError, InsufficientScopeError) as err:
        accepted, why = False, err.error
    return {"status": response.status_code, "answer": answer, "accepted": accepted, "refused_because": why}


def revoke(args):
    session = OAuth2Session()
    response = session.revoke_token(args.url, token=args.token, token_type_hint="access_token", auth=Bearer(args.key))
    return {"status": response.status_code, "body": response.text}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    checked = commands.add_parser("verify")
    checked.add_argument("--jwks", required=True)
    checked.add_argument("--issuer", required=True)
    checked.add_argument("--audience")
    checked.add_argument("--token", required=True)
    asked = commands.add_parser("introspect")
    asked.add_argument("--url", required=True)
    asked.add_argument("--service-token", required=True)
    asked.add_argument("--token", required=True)
    asked.add_argument("--scope")
    revoked = commands.add_parser("revoke")
    revoked.add_argument("--url", required=True)
    revoked.add_argument("--key", required=True)
    revoked.add_argument("--token", required=True)
    args = parser.parse_args()
    result = {"verify": verify, "introspect": introspect, "revoke": revoke}[args.command](args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
