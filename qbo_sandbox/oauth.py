"""Intuit's OAuth 2.0 server: authorize, token (code and refresh grants), revoke.

A *grant* is one company's consent to one app. Refresh tokens rotate: each
refresh issues a new one, and the one it replaced keeps working for 24 h.
Revoking any token of a grant revokes the whole grant.
"""

import base64
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

STALE_REFRESH_GRACE = 24 * 3600
CODE_LIFETIME = 600
HARD_LIFETIME = 5 * 365 * 86400
SCOPE = "com.intuit.quickbooks.accounting"
TEST_CLIENT_ID = "sandbox-test-client"  # the app issue_tokens() grants to unless told otherwise


class OAuthError(Exception):
    """An RFC 6749 error answer, e.g. ``400 {"error": "invalid_grant"}``."""

    def __init__(self, error, status=400, description=""):
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description

    def body(self):
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass
class Grant:
    client_id: str
    realm_id: str
    hard_expires_at: float
    revoked: bool = False
    refresh_tokens: set = field(default_factory=set)
    access_tokens: set = field(default_factory=set)


@dataclass
class RefreshToken:
    grant: Grant
    expires_at: float
    stale_at: float = None  # set once a newer token replaced this one


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    expires_at: float
    used: bool = False


class OAuthServer:
    def __init__(
        self,
        clock,
        client_id=None,
        client_secret=None,
        access_token_lifetime=3600,
        refresh_token_lifetime=100 * 86400,
    ):
        self.clock = clock
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._codes = {}
            self._refresh = {}
            self._access = {}
            self._deny_next = 0

    # --- client authentication ----------------------------------------------

    def authenticate_client(self, authorization):
        """Client id from HTTP Basic auth; any pair passes unless credentials are configured."""
        try:
            scheme, encoded = (authorization or "").split(" ", 1)
            client_id, secret = base64.b64decode(encoded.strip()).decode().split(":", 1)
            if scheme.lower() != "basic":
                raise ValueError(scheme)
        except ValueError:
            raise OAuthError("invalid_client", 401) from None
        if self.client_id is not None and client_id != self.client_id:
            raise OAuthError("invalid_client", 401)
        if self.client_secret is not None and secret != self.client_secret:
            raise OAuthError("invalid_client", 401)
        return client_id

    # --- authorize ------------------------------------------------------------

    def deny_next_authorize(self, n=1):
        with self._lock:
            self._deny_next = int(n)

    def authorize(self, params, default_realm, known_realms):
        """The redirect URL after the (automatic) consent screen."""
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri or not params.get("client_id"):
            raise OAuthError(
                "invalid_request", description="client_id and redirect_uri are required"
            )
        if self.client_id is not None and params["client_id"] != self.client_id:
            raise OAuthError("invalid_client", 401)
        answer = {}
        deny = str(params.get("deny", "")).lower() in ("1", "true", "yes")
        with self._lock:
            if self._deny_next > 0:
                self._deny_next -= 1
                deny = True
        if params.get("response_type", "code") != "code":
            answer["error"] = "unsupported_response_type"
        elif deny:
            answer["error"] = "access_denied"
        else:
            realm_id = params.get("realmId") or default_realm
            if realm_id not in known_realms:
                raise OAuthError("invalid_request", description=f"unknown realmId {realm_id}")
            code = "AB" + secrets.token_hex(24)
            grant = Grant(params["client_id"], realm_id, self.clock.now() + HARD_LIFETIME)
            with self._lock:
                self._codes[code] = Code(grant, redirect_uri, self.clock.now() + CODE_LIFETIME)
            answer.update(code=code)
        if params.get("state") is not None:
            answer["state"] = params["state"]
        if "code" in answer:
            answer["realmId"] = realm_id
        return _with_query(redirect_uri, answer)

    # --- token endpoint -------------------------------------------------------

    def token(self, form, client_id, include_hard_expiry=False):
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form, client_id, include_hard_expiry)
        if grant_type == "refresh_token":
            return self._refresh_grant(form, client_id, include_hard_expiry)
        raise OAuthError("unsupported_grant_type")

    def _exchange_code(self, form, client_id, include_hard_expiry):
        now = self.clock.now()
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if (
                code is None
                or code.used
                or code.expires_at < now
                or code.grant.client_id != client_id
            ):
                raise OAuthError("invalid_grant")
            if form.get("redirect_uri") != code.redirect_uri:
                # Intuit's token endpoint says no more than {"error": "invalid_grant"}.
                raise OAuthError("invalid_grant")
            code.used = True  # codes are single-use
            return self._issue(code.grant, include_hard_expiry)

    def _refresh_grant(self, form, client_id, include_hard_expiry):
        now = self.clock.now()
        with self._lock:
            token = form.get("refresh_token", "")
            record = self._refresh.get(token)
            if (
                record is None
                or record.grant.client_id != client_id
                or not self._refresh_usable(record, now)
            ):
                raise OAuthError("invalid_grant")
            # Every refresh rotates: older tokens of the grant get their 24 h of grace.
            for other in record.grant.refresh_tokens:
                older = self._refresh[other]
                if older.stale_at is None:
                    older.stale_at = now + STALE_REFRESH_GRACE
            return self._issue(record.grant, include_hard_expiry)

    def _refresh_usable(self, record, now):
        grant = record.grant
        if grant.revoked or grant.hard_expires_at <= now or record.expires_at <= now:
            return False
        return record.stale_at is None or record.stale_at > now

    def _issue(self, grant, include_hard_expiry):
        now = self.clock.now()
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(96)
        refresh = "AB11" + str(int(now)) + secrets.token_hex(20)
        refresh_expires = min(now + self.refresh_token_lifetime, grant.hard_expires_at)
        self._access[access] = AccessToken(grant, now + self.access_token_lifetime)
        self._refresh[refresh] = RefreshToken(grant, refresh_expires)
        grant.access_tokens.add(access)
        grant.refresh_tokens.add(refresh)
        answer = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": int(self.access_token_lifetime),
            "refresh_token": refresh,
            "x_refresh_token_expires_in": int(refresh_expires - now),
        }
        if include_hard_expiry:
            answer["x_refresh_token_hard_expires_in"] = int(grant.hard_expires_at - now)
        return answer

    def issue(self, realm_id, client_id=TEST_CLIENT_ID, include_hard_expiry=True):
        """Tokens for ``realm_id`` without the browser dance (tests, demo)."""
        grant = Grant(client_id, realm_id, self.clock.now() + HARD_LIFETIME)
        with self._lock:
            return self._issue(grant, include_hard_expiry)

    # --- revoke ---------------------------------------------------------------

    def revoke(self, token):
        """Revoke the grant ``token`` belongs to; unknown tokens are ignored (RFC 7009)."""
        with self._lock:
            record = self._refresh.get(token) or self._access.get(token)
            if record is not None:
                record.grant.revoked = True

    def revoke_realm(self, realm_id):
        with self._lock:
            for record in list(self._refresh.values()) + list(self._access.values()):
                if record.grant.realm_id == realm_id:
                    record.grant.revoked = True

    # --- bearer checks for the API --------------------------------------------

    def check_bearer(self, authorization, realm_id):
        """``(denial, client_id)``: denial is None when the bearer may call ``realm_id``,
        else ``(status, detail)``; client_id is the app the token was issued to."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return (401, "Authorization header missing or not a bearer token"), None
        with self._lock:
            record = self._access.get(token)
        if record is None:
            detail = (
                "Malformed bearer token: too short or too long"
                if len(token) < 20
                else "Token invalid: " + token[:50]
            )
            return (401, detail), None
        grant = record.grant
        if grant.revoked:
            return (401, "Token revoked: " + token[:50]), grant.client_id
        if record.expires_at <= self.clock.now():
            return (401, "Token expired: " + token[:50]), grant.client_id
        if grant.realm_id != realm_id:
            return (403, "Token is for another company"), grant.client_id
        return None, grant.client_id


def _with_query(url, params):
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
