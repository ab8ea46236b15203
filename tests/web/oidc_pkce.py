"""``oidc-provider-mock`` as the tests run it, with PKCE (RFC 7636) required and checked.

The mock's authorization server is authlib's; it stores no code challenge and so checks
no verifier. Run as a script (the same options as ``python -m oidc_provider_mock``), this
gives its authorization-code grant authlib's own ``CodeChallenge`` extension and keeps
each code's challenge, and refuses an authorization request without an S256 challenge.
So a sign-in succeeds only when the client sent a challenge and then the verifier that
matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from oidc_provider_mock import _app, _storage
from oidc_provider_mock.__main__ import run


@dataclass(kw_only=True, frozen=True)
class ChallengedCode(_storage.AuthorizationCode):
    """An authorization code with the challenge it was asked with."""

    code_challenge: str
    code_challenge_method: str


def _require_s256(grant: Any, redirect_uri: Any) -> None:
    data = grant.request.payload.data
    if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
        raise InvalidRequestError("PKCE is required: code_challenge with method S256")


class PkceGrant(_app.AuthorizationCodeGrant):
    """The mock's grant, with authlib's PKCE check and the challenge kept on the code."""

    def __init__(self, request: Any, server: Any) -> None:
        super().__init__(request, server)
        self.register_hook("after_validate_authorization_request_payload", _require_s256)
        CodeChallenge(required=True)(self)

    def save_authorization_code(self, code: str, request: object) -> None:
        super().save_authorization_code(code, request)
        plain = _storage.storage.get_authorization_code(code)
        data = request.payload.data  # type: ignore[attr-defined]
        assert plain is not None
        _storage.storage.store_authorization_code(ChallengedCode(
            code=plain.code, client_id=plain.client_id, redirect_uri=plain.redirect_uri,
            user_id=plain.user_id, scope=plain.scope, nonce=plain.nonce,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"]))


_app.AuthorizationCodeGrant = PkceGrant

if __name__ == "__main__":
    run()
