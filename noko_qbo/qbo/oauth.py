"""OAuth 2.0 with Intuit: authorize, exchange the code, refresh (rotating), revoke.

Built on oauthlib's ``WebApplicationClient`` (the protocol core of
requests-oauthlib) for request bodies and token-response validation, with a
plain ``requests`` session for transport. Why not ``OAuth2Session`` itself:
it logs request bodies and tokens at DEBUG level (tokens must never reach a
log) and refuses ``http://`` endpoints unless the process-wide
``OAUTHLIB_INSECURE_TRANSPORT`` is set, which would weaken every other OAuth
client in the Odoo process just to reach the loopback ``qbo_sandbox``.

intuit-oauth's ``AuthClient`` is not used either: its constructor fetches the
discovery document over the network, and its ``state`` comes from ``random``
and is never checked.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error, WebApplicationClient

from .environments import SCOPE
from .errors import QboFault, ReconnectNeeded, transport_fault

_logger = logging.getLogger(__name__)

#: Asks Intuit to add ``x_refresh_token_hard_expires_in`` (the 5-year cap).
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


def utcnow():
    return datetime.now(UTC)


@dataclass
class Tokens:
    """One company's tokens; every expiry is an absolute, timezone-aware UTC datetime."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None
    realm_id: str | None = None

    @classmethod
    def from_response(cls, data, realm_id=None, now=None):
        """Tokens from the token endpoint's JSON, expiries computed from ``*expires_in``."""
        now = now or utcnow()

        def after(key):
            seconds = data.get(key)
            if seconds in (None, ""):
                return None
            return now + timedelta(seconds=float(seconds))

        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token") or "",
            access_expires_at=after("expires_in"),
            refresh_expires_at=after("x_refresh_token_expires_in"),
            refresh_hard_expires_at=after("x_refresh_token_hard_expires_in"),
            realm_id=str(realm_id) if realm_id is not None else None,
        )

    def access_expires_within(self, seconds, now=None):
        """Whether the access token is expired or will be within ``seconds``."""
        if self.access_expires_at is None:
            return False
        now = now or utcnow()
        return self.access_expires_at - timedelta(seconds=seconds) <= now

    def __repr__(self):
        # Never let a token reach a log or a traceback through repr().
        return (
            f"Tokens(realm_id={self.realm_id!r}, access_expires_at={self.access_expires_at!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r})"
        )


class OAuthClient:
    """Intuit OAuth 2.0 for one app (client id/secret) in one environment.

    Thread-safe: it keeps no per-call state. Serializing refreshes per company
    is :mod:`.tokens`' job.
    """

    def __init__(
        self,
        environment,
        client_id,
        client_secret,
        redirect_uri,
        *,
        session=None,
        timeout=(5, 30),
        clock=utcnow,
    ):
        self.environment = environment
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._http = session or requests.Session()
        self.timeout = timeout
        self._clock = clock

    # ---------------------------------------------------------------- authorize

    @staticmethod
    def new_state():
        """An unguessable ``state`` (``secrets``, 256 bits) for one authorization attempt."""
        return secrets.token_urlsafe(32)

    def authorization_url(self, state):
        """The Intuit consent page URL for the accounting scope, carrying ``state``."""
        if not state:
            raise ValueError("an OAuth state is required")
        return add_params_to_uri(
            self.environment.authorize_url,
            [
                ("client_id", self.client_id),
                ("response_type", "code"),
                ("scope", SCOPE),
                ("redirect_uri", self.redirect_uri),
                ("state", state),
            ],
        )

    # ---------------------------------------------------------------- tokens

    def exchange_code(self, code, realm_id):
        """Trade the callback's ``code`` (usable once) for the company's first tokens."""
        body = WebApplicationClient(self.client_id).prepare_request_body(
            code=code, redirect_uri=self.redirect_uri, include_client_id=False
        )
        return self._token_request(body, realm_id)

    def refresh(self, refresh_token, realm_id=None):
        """New tokens from ``refresh_token``; the answer carries a *new* refresh token.

        The caller must persist the result before any further API call (see
        :class:`.tokens.RotatingTokens`). ``invalid_grant`` raises
        :class:`ReconnectNeeded`.
        """
        body = WebApplicationClient(self.client_id).prepare_refresh_body(
            refresh_token=refresh_token
        )
        return self._token_request(body, realm_id)

    def revoke(self, token):
        """Revoke a refresh (or access) token: disconnects the app from the company."""
        try:
            response = self._http.post(
                self.environment.revoke_url,
                json={"token": token},
                auth=(self.client_id, self._client_secret),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise transport_fault(exc, sent=True) from exc
        if response.status_code != 200:
            raise self._oauth_fault(response)

    def _token_request(self, body, realm_id):
        client = WebApplicationClient(self.client_id)
        try:
            response = self._http.post(
                self.environment.token_url,
                data=body,
                auth=(self.client_id, self._client_secret),
                headers={
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                    HARD_EXPIRY_HEADER: "true",
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise transport_fault(exc, sent=True) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise self._oauth_fault(response)
        try:
            data = client.parse_request_body_response(response.text)
        except InvalidGrantError as exc:
            _logger.info("QBO token endpoint answered invalid_grant: reconnect needed")
            raise ReconnectNeeded(
                "QuickBooks refused the refresh token (invalid_grant): reconnect the company",
                detail=exc.description or "",
                status=response.status_code,
            ) from None
        except InvalidClientError as exc:
            raise QboFault(
                "auth",
                code="invalid_client",
                message="QuickBooks rejected the app's client id or secret",
                detail=exc.description or "",
                status=response.status_code,
            ) from None
        except OAuth2Error as exc:
            raise QboFault(
                "auth" if response.status_code in (400, 401) else "unknown",
                code=exc.error,
                message=f"Token endpoint error: {exc.error}",
                detail=exc.description or "",
                status=response.status_code,
            ) from None
        except ValueError:
            raise self._oauth_fault(response) from None
        return Tokens.from_response(data, realm_id=realm_id, now=self._clock())

    @staticmethod
    def _oauth_fault(response):
        """A fault for a token/revoke answer that is not a usable OAuth response."""
        status = response.status_code
        code = ""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            code = str(payload.get("error") or "")
        if code == "invalid_grant":
            return ReconnectNeeded(
                "QuickBooks refused the token (invalid_grant): reconnect the company",
                status=status,
            )
        if status == 429:
            kind = "throttle"
        elif status >= 500:
            kind = "server"
        elif status in (400, 401):
            kind = "auth"
        else:
            kind = "unknown"
        return QboFault(
            kind,
            code=code or str(status),
            message=f"OAuth endpoint answered HTTP {status}",
            status=status,
            retry_after=60.0 if kind == "throttle" else None,
        )
