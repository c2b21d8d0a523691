"""Where a QuickBooks company lives: production, Intuit's sandbox, or our own stand-in.

Production and sandbox differ only in the API host; OAuth endpoints are
shared. A ``custom`` environment (the offline ``qbo_sandbox``, or a proxy)
publishes its endpoints in an OpenID discovery document, read once here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from .errors import QboFault

SCOPE = "com.intuit.quickbooks.accounting"

_AUTHORIZE = "https://appcenter.intuit.com/connect/oauth2"
_TOKEN = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
_REVOKE = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"


@dataclass(frozen=True)
class Environment:
    """The endpoints one QBO environment answers on (``api_base`` ends in ``/v3``)."""

    name: str
    api_base: str
    authorize_url: str
    token_url: str
    revoke_url: str
    #: how much faster than real time the service's clock runs: 1 for Intuit; an offline
    #: ``qbo_sandbox`` says so in its discovery document (``time_scale``)
    time_scale: float = 1.0

    def company_url(self, realm_id, path=""):
        """``{api_base}/company/{realm}/{path}``."""
        url = f"{self.api_base}/company/{realm_id}"
        return f"{url}/{path.lstrip('/')}" if path else url


PRODUCTION = Environment(
    name="production",
    api_base="https://quickbooks.api.intuit.com/v3",
    authorize_url=_AUTHORIZE,
    token_url=_TOKEN,
    revoke_url=_REVOKE,
)
SANDBOX = Environment(
    name="sandbox",
    api_base="https://sandbox-quickbooks.api.intuit.com/v3",
    authorize_url=_AUTHORIZE,
    token_url=_TOKEN,
    revoke_url=_REVOKE,
)
_KNOWN = {env.name: env for env in (PRODUCTION, SANDBOX)}
_discovered = {}  # base_url -> Environment: a discovery document is read once per process
_discovered_lock = threading.Lock()


def resolve(name, base_url=None, *, session=None, timeout=(5, 15), refresh=False):
    """The :class:`Environment` called ``name``.

    ``custom`` needs ``base_url`` (e.g. ``http://127.0.0.1:8069`` of a
    ``qbo_sandbox``) and reads ``{base_url}/.well-known/openid_configuration``;
    its API base is ``{base_url}/v3``. Relative endpoints in the document are
    resolved against ``base_url``. The answer is cached per base URL (every
    Odoo job builds a client); ``refresh=True`` reads the document again.
    """
    if name in _KNOWN:
        return _KNOWN[name]
    if name != "custom":
        raise ValueError(f"unknown QuickBooks environment {name!r}")
    if not base_url:
        raise ValueError("the custom environment needs a base URL")
    base_url = base_url.rstrip("/")
    with _discovered_lock:
        known = None if refresh else _discovered.get(base_url)
    if known is not None:
        return known
    discovery_url = f"{base_url}/.well-known/openid_configuration"
    document = _read_discovery(discovery_url, session or requests, timeout)
    try:
        endpoints = {
            key: urljoin(base_url + "/", document[key])
            for key in ("authorization_endpoint", "token_endpoint", "revocation_endpoint")
        }
    except KeyError as missing:
        raise QboFault(
            "unknown", code="discovery", message=f"Discovery document lacks {missing}"
        ) from None
    environment = Environment(
        name="custom",
        api_base=f"{base_url}/v3",
        authorize_url=endpoints["authorization_endpoint"],
        token_url=endpoints["token_endpoint"],
        revoke_url=endpoints["revocation_endpoint"],
        time_scale=float(document.get("time_scale") or 1.0),
    )
    with _discovered_lock:
        _discovered[base_url] = environment
    return environment


def _read_discovery(url, http, timeout):
    try:
        response = http.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise QboFault(
            "server", code="discovery", message=f"Cannot read {url} ({type(exc).__name__})"
        ) from exc
    if response.status_code != 200:
        raise QboFault(
            "server" if response.status_code >= 500 else "unknown",
            code="discovery",
            message=f"Discovery document answered HTTP {response.status_code}",
            status=response.status_code,
        )
    try:
        return response.json()
    except ValueError:
        raise QboFault(
            "unknown", code="discovery", message="Discovery document is not JSON"
        ) from None
