"""OpenID Connect, the authorization code flow with PKCE, through authlib (its requests
``OAuth2Session``; joserfc for the keys and signatures): the provider's
discovery document (``/.well-known/openid-configuration``), the authorization URL (with
``state``, ``nonce`` and an S256 code challenge), the code's exchange at the token endpoint
and the ID token's validation: its signature against the provider's keys (``jwks_uri``;
fetched again once for an unknown key id), and its issuer, audience, expiry, issue time,
nonce, ``azp`` and ``at_hash`` (authlib's ``CodeIDToken``).

What the web layer keeps between the redirect and the callback is :class:`Pending` (in a
signed cookie of its own: see ``web/sso.py``). The provider is any that speaks the
standard: Microsoft Entra ID, AD FS, or a test provider on loopback; plain http is allowed
for loopback alone.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, cast

import requests

from ..errors import AuthError, Said, SetupError
from .directory import Identity

METADATA_TTL = 3600.0  # seconds a provider's discovery document and keys are kept
LEEWAY = 120           # seconds of clock difference allowed in the ID token's times
TIMEOUT = 10.0


@dataclass(frozen=True)
class ProviderSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    groups_claim: str = "groups"
    scope: str = "openid profile email"


@dataclass(frozen=True)
class Pending:
    """A sign-in begun: what the callback checks the provider's answer against."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier,
                "redirect_uri": self.redirect_uri}

    @classmethod
    def from_dict(cls, data: Any) -> Pending | None:
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) and data[k]
                for k in ("state", "nonce", "verifier", "redirect_uri")):
            return None
        return cls(data["state"], data["nonce"], data["verifier"], data["redirect_uri"])


REFUSED = Said("the sign-in could not be completed", "Log ind hos din organisation "
               "lykkedes ikke. Prøv igen fra login-siden")


class Refused(AuthError):
    """The provider's answer is not one to trust (or says no): the sign-in ends here."""


class Provider:
    """One OpenID Connect provider, its discovery document and keys kept for an hour."""

    def __init__(self, settings: ProviderSettings) -> None:
        from authlib.common.security import is_secure_transport

        if not is_secure_transport(settings.issuer):
            raise SetupError(f"WORKFLOW_OIDC_ISSUER must be an https URL (plain http only on "
                             f"loopback), not {settings.issuer!r}")
        self.settings = settings
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._fetched = 0.0

    def _get(self, url: str) -> dict[str, Any]:
        try:
            resp = requests.get(url, timeout=TIMEOUT)
            resp.raise_for_status()
            data = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise SetupError(Said(f"the sign-in provider cannot be reached ({url}): {exc}",
                                  "Log ind hos din organisation er ikke muligt lige nu, da "
                                  "dens login-tjeneste ikke svarer. Prøv igen senere")) from None
        if not isinstance(data, dict):
            raise SetupError(f"the sign-in provider's {url} is not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched > METADATA_TTL:
                issuer = self.settings.issuer.rstrip("/")
                found = self._get(issuer + "/.well-known/openid-configuration")
                if str(found.get("issuer", "")).rstrip("/") != issuer:
                    raise SetupError(f"the provider at {issuer} names another issuer: "
                                     f"{found.get('issuer')!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(key), str):
                        raise SetupError(f"the provider at {issuer} names no {key}")
                self._metadata, self._jwks, self._fetched = found, None, time.monotonic()
            return self._metadata

    def _keys(self, *, again: bool = False) -> dict[str, Any]:
        metadata = self.metadata()
        with self._lock:
            if self._jwks is None or again:
                self._jwks = self._get(metadata["jwks_uri"])
            return self._jwks

    def _client(self, redirect_uri: str) -> Any:
        from authlib.integrations.requests_client import OAuth2Session

        s = self.settings
        return OAuth2Session(client_id=s.client_id, client_secret=s.client_secret,
                             scope=s.scope, redirect_uri=redirect_uri,
                             code_challenge_method="S256")

    def begin(self, redirect_uri: str) -> tuple[str, Pending]:
        """The provider's authorization URL to send the browser to, and what to keep."""
        pending = Pending(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                          secrets.token_urlsafe(48), redirect_uri)
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=pending.state,
                code_verifier=pending.verifier, nonce=pending.nonce)
        return str(url), pending

    def finish(self, pending: Pending | None, params: dict[str, str], *,
               now: float | None = None) -> Identity:
        """Who signed in, from the provider's answer at the callback (``params``: its query)
        and what :meth:`begin` kept; :class:`Refused` for an answer that does not match
        (state), says no (``error``), or whose ID token does not hold."""
        if params.get("error"):
            raise Refused(Said(f"the provider refused: {params.get('error')}: "
                               f"{params.get('error_description', '')}", REFUSED.da))
        state = params.get("state") or ""
        if pending is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise Refused(Said("the sign-in's state does not match the one this browser "
                               "began (begun elsewhere, tampered with, or too old)", REFUSED.da))
        code = params.get("code")
        if not code:
            raise Refused(Said("the provider's answer has no code", REFUSED.da))
        from authlib.integrations.base_client import OAuthError

        try:
            with self._client(pending.redirect_uri) as client:
                token = client.fetch_token(self.metadata()["token_endpoint"], code=code,
                                           code_verifier=pending.verifier,
                                           grant_type="authorization_code", timeout=TIMEOUT)
        except (OAuthError, requests.RequestException, ValueError) as exc:
            raise Refused(Said(f"the code was not exchanged: {exc}", REFUSED.da)) from None
        claims = self.validate_id_token(token, pending.nonce, now=now)
        return self.identity(claims)

    def validate_id_token(self, token: dict[str, Any], nonce: str, *,
                          now: float | None = None) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, times and nonce
        are checked; :class:`Refused` otherwise."""
        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import InvalidKeyIdError, JoseError
        from joserfc.jwk import KeySet
        from joserfc.jws import JWSRegistry

        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise Refused(Said("the provider sent no ID token", REFUSED.da))
        metadata = self.metadata()
        algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported",
                                              ["RS256"]) if a != "none" and not a.startswith("HS")]
        registry = JWSRegistry(algorithms=algorithms or ["RS256"], strict_check_header=False)
        try:
            try:
                decoded = jwt.decode(raw, KeySet.import_key_set(cast(Any, self._keys())),
                                     registry=registry)
            except InvalidKeyIdError:  # the provider has rolled its keys since
                decoded = jwt.decode(raw, KeySet.import_key_set(cast(Any, self._keys(again=True))),
                                     registry=registry)
            s = self.settings
            claims = CodeIDToken(
                decoded.claims, decoded.header,
                {"iss": {"essential": True, "value": metadata["issuer"]},
                 "aud": {"essential": True, "value": s.client_id}},
                {"nonce": nonce, "client_id": s.client_id,
                 "access_token": token.get("access_token")})
            claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY)
        except (JoseError, ValueError) as exc:
            raise Refused(Said(f"the ID token does not hold: {exc}", REFUSED.da)) from None
        return dict(claims)

    def identity(self, claims: dict[str, Any]) -> Identity:
        groups = claims.get(self.settings.groups_claim) or []
        if isinstance(groups, str):  # AD FS sends one group as a string
            groups = [groups]
        return Identity(
            issuer=str(claims["iss"]), subject=str(claims["sub"]),
            name=str(claims.get("name") or ""),
            email=str(claims.get("email") or ""),
            username=str(claims.get("preferred_username") or claims.get("upn")
                         or claims.get("unique_name") or claims.get("email") or ""),
            groups=tuple(str(g) for g in groups if isinstance(g, (str, int))))
