"""OAuth against the sandbox: state, code exchange, rotation, revoke; environments."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from noko_qbo.qbo import environments
from noko_qbo.qbo.errors import QboFault, ReconnectNeeded
from noko_qbo.qbo.oauth import OAuthClient, Tokens

REDIRECT = "https://odoo.example.com/noko_qbo/oauth/callback"


def oauth_for(server, client_id="app-id", secret="app-secret"):
    return OAuthClient(environments.resolve("custom", server.base_url), client_id, secret, REDIRECT)


def consent(oauth, state):
    """Follow the authorize URL like a browser would; the callback's query parameters."""
    answer = requests.get(oauth.authorization_url(state), allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_production_and_sandbox_resolve_without_network():
    production = environments.resolve("production")
    sandbox = environments.resolve("sandbox")
    assert production.api_base == "https://quickbooks.api.intuit.com/v3"
    assert sandbox.api_base == "https://sandbox-quickbooks.api.intuit.com/v3"
    assert production.token_url == sandbox.token_url
    assert production.token_url.endswith("/oauth2/v1/tokens/bearer")
    assert production.revoke_url == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    with pytest.raises(ValueError):
        environments.resolve("staging")
    with pytest.raises(ValueError):
        environments.resolve("custom")


def test_custom_environment_reads_the_discovery_document(fresh_sandbox):
    env = environments.resolve("custom", fresh_sandbox.base_url + "/")
    assert env.api_base == fresh_sandbox.base_url + "/v3"
    assert env.authorize_url == fresh_sandbox.base_url + "/connect/oauth2"
    assert env.token_url == fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer"
    assert env.revoke_url == fresh_sandbox.base_url + "/v2/oauth2/tokens/revoke"


def test_unreachable_discovery_is_a_server_fault():
    with pytest.raises(QboFault) as caught:
        environments.resolve("custom", "http://127.0.0.1:9", timeout=(0.5, 0.5))
    assert caught.value.kind == "server"


def test_authorization_url_asks_for_accounting_scope_with_an_unguessable_state():
    oauth = OAuthClient(environments.resolve("production"), "app-id", "s", REDIRECT)
    state = oauth.new_state()
    assert len(state) >= 40 and state != oauth.new_state()
    query = parse_qs(urlsplit(oauth.authorization_url(state)).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["state"] == [state]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [REDIRECT]
    with pytest.raises(ValueError):
        oauth.authorization_url("")


def test_full_connection_code_exchange_records_absolute_utc_expiries(fresh_sandbox):
    oauth = oauth_for(fresh_sandbox)
    state = oauth.new_state()
    callback = consent(oauth, state)
    assert callback["state"] == state
    before = datetime.now(UTC)
    tokens = oauth.exchange_code(callback["code"], callback["realmId"])
    assert tokens.realm_id == fresh_sandbox.realm_id
    assert tokens.access_expires_at.tzinfo is not None
    assert (
        before + timedelta(seconds=3590)
        < tokens.access_expires_at
        < before + timedelta(seconds=3700)
    )
    assert tokens.refresh_expires_at > before + timedelta(days=99)
    # the hard-expiry header was sent, so the 5-year cap is known
    assert tokens.refresh_hard_expires_at > before + timedelta(days=4 * 365)
    # a code is good once
    with pytest.raises(ReconnectNeeded):
        oauth.exchange_code(callback["code"], callback["realmId"])


def test_refresh_rotates_the_refresh_token(fresh_sandbox):
    oauth = oauth_for(fresh_sandbox)
    callback = consent(oauth, oauth.new_state())
    first = oauth.exchange_code(callback["code"], callback["realmId"])
    second = oauth.refresh(first.refresh_token, realm_id=first.realm_id)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.refresh_hard_expires_at is not None


def test_revoked_connection_refresh_is_reconnect_needed(fresh_sandbox):
    oauth = oauth_for(fresh_sandbox)
    callback = consent(oauth, oauth.new_state())
    tokens = oauth.exchange_code(callback["code"], callback["realmId"])
    oauth.revoke(tokens.refresh_token)
    with pytest.raises(ReconnectNeeded) as caught:
        oauth.refresh(tokens.refresh_token)
    assert caught.value.kind == "auth" and caught.value.code == "invalid_grant"


def test_expired_refresh_token_is_reconnect_needed(make_sandbox):
    server = make_sandbox(refresh_token_lifetime=100)
    oauth = oauth_for(server, client_id="sandbox-test-client")
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    server.advance_clock(101)
    with pytest.raises(ReconnectNeeded):
        oauth.refresh(tokens.refresh_token)


def test_wrong_client_secret_is_an_auth_fault_not_a_reconnect(make_sandbox):
    server = make_sandbox(client_id="app-id", client_secret="right")
    oauth = oauth_for(server, secret="wrong")
    with pytest.raises(QboFault) as caught:
        oauth.refresh("AB11whatever")
    assert caught.value.kind == "auth" and caught.value.code == "invalid_client"
    assert not isinstance(caught.value, ReconnectNeeded)


def test_tokens_never_show_in_repr():
    tokens = Tokens.from_response(
        {"access_token": "SECRET-A", "refresh_token": "SECRET-R", "expires_in": 3600},
        realm_id="123",
    )
    assert "SECRET" not in repr(tokens)
