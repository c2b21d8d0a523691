"""OAuth 2.0 as Intuit runs it: discovery, consent redirect, code and refresh grants, revoke."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

REDIRECT = "https://odoo.example/qbo/callback"


def _discovery(server):
    return requests.get(server.base_url + "/.well-known/openid_configuration", timeout=5).json()


def _authorize(server, **extra):
    params = {
        "client_id": "app",
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "state": "st4te",
        **extra,
    }
    url = _discovery(server)["authorization_endpoint"]
    answer = requests.get(url, params=params, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _token(server, form, client=("app", "secret"), headers=None):
    url = _discovery(server)["token_endpoint"]
    return requests.post(url, data=form, auth=client, headers=headers or {}, timeout=5)


def _exchange(server, **extra):
    code = _authorize(server)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    return _token(server, form, **extra)


def _refresh(server, refresh_token, client=("app", "secret")):
    return _token(server, {"grant_type": "refresh_token", "refresh_token": refresh_token}, client)


def _company_info(server, access_token):
    url = f"{server.base_url}/v3/company/{server.realm_id}/companyinfo/{server.realm_id}"
    headers = {"Authorization": "Bearer " + access_token, "Accept": "application/json"}
    return requests.get(url, headers=headers, timeout=5)


def test_discovery_document_lists_every_endpoint_on_the_base_url(fresh_sandbox):
    doc = _discovery(fresh_sandbox)
    base = fresh_sandbox.base_url
    assert doc["authorization_endpoint"] == base + "/connect/oauth2"
    assert doc["token_endpoint"] == base + "/oauth2/v1/tokens/bearer"
    assert doc["revocation_endpoint"] == base + "/v2/oauth2/tokens/revoke"
    assert doc["userinfo_endpoint"].startswith(base)
    assert doc["issuer"] == base


def test_authorize_redirects_with_code_state_and_realm(fresh_sandbox):
    answer = _authorize(fresh_sandbox)
    assert answer["state"] == "st4te"
    assert answer["realmId"] == fresh_sandbox.realm_id
    assert answer["code"]


def test_authorize_denies_on_request(fresh_sandbox):
    answer = _authorize(fresh_sandbox, deny="1")
    assert answer == {"error": "access_denied", "state": "st4te"}


def test_authorize_denies_after_admin_toggle_once(fresh_sandbox):
    requests.post(
        fresh_sandbox.base_url + "/_sandbox/deny_next_authorize", json={"n": 1}, timeout=5
    )
    assert _authorize(fresh_sandbox)["error"] == "access_denied"
    assert "code" in _authorize(fresh_sandbox)


def test_code_exchange_answers_like_intuit(fresh_sandbox):
    answer = _exchange(fresh_sandbox)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert 100 * 86400 - 60 <= body["x_refresh_token_expires_in"] <= 100 * 86400
    assert body["access_token"] and body["refresh_token"]
    assert "x_refresh_token_hard_expires_in" not in body
    assert _company_info(fresh_sandbox, body["access_token"]).status_code == 200


def test_hard_expiry_is_sent_only_when_asked(fresh_sandbox):
    body = _exchange(
        fresh_sandbox, headers={"x-include-refresh-token-hard-expires-in": "true"}
    ).json()
    five_years = 5 * 365 * 86400
    assert five_years - 60 <= body["x_refresh_token_hard_expires_in"] <= five_years


def test_codes_are_single_use(fresh_sandbox):
    code = _authorize(fresh_sandbox)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert _token(fresh_sandbox, form).status_code == 200
    second = _token(fresh_sandbox, form)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_token_endpoint_needs_basic_client_auth(fresh_sandbox):
    code = _authorize(fresh_sandbox)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    answer = requests.post(
        fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer", data=form, timeout=5
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_configured_client_credentials_are_enforced(make_sandbox):
    server = make_sandbox(client_id="right-id", client_secret="right-secret")
    code = _authorize(server, client_id="right-id")["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert _token(server, form, client=("right-id", "wrong")).status_code == 401
    assert _token(server, form, client=("right-id", "right-secret")).status_code == 200


def test_refresh_rotates_and_previous_token_works_for_24_hours(fresh_sandbox):
    first = _exchange(fresh_sandbox).json()
    second = _refresh(fresh_sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    fresh_sandbox.advance_clock(23 * 3600)
    assert _refresh(fresh_sandbox, first["refresh_token"]).status_code == 200
    fresh_sandbox.advance_clock(3600 + 1)
    stale = _refresh(fresh_sandbox, first["refresh_token"])
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_grant"}


def test_newest_refresh_token_keeps_working_after_24_hours(fresh_sandbox):
    first = _exchange(fresh_sandbox).json()
    second = _refresh(fresh_sandbox, first["refresh_token"]).json()
    fresh_sandbox.advance_clock(30 * 86400)
    assert _refresh(fresh_sandbox, second["refresh_token"]).status_code == 200


def test_expired_access_token_gets_gateway_401_with_3200(fresh_sandbox):
    tokens = fresh_sandbox.issue_tokens()
    fresh_sandbox.advance_clock(3601)
    answer = _company_info(fresh_sandbox, tokens["access_token"])
    assert answer.status_code == 401
    error = answer.json()["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert error["detail"].startswith("Token expired: ")
    assert answer.json()["fault"]["type"] == "AUTHENTICATION"


def test_access_token_lifetime_is_configurable(make_sandbox):
    server = make_sandbox(access_token_lifetime=60)
    tokens = server.issue_tokens()
    assert tokens["expires_in"] == 60
    server.advance_clock(61)
    assert _company_info(server, tokens["access_token"]).status_code == 401


def test_access_tokens_of_another_company_are_refused(fresh_sandbox):
    other = fresh_sandbox.seed({"realm_id": "9341000000000002", "CompanyInfo": {}})
    tokens = fresh_sandbox.issue_tokens(other)
    answer = _company_info(fresh_sandbox, tokens["access_token"])
    assert answer.status_code == 403
    assert answer.json()["Fault"]["Error"][0]["code"] == "3100"


def test_revoke_takes_down_the_whole_grant(fresh_sandbox):
    tokens = _exchange(fresh_sandbox).json()
    url = _discovery(fresh_sandbox)["revocation_endpoint"]
    answer = requests.post(
        url, json={"token": tokens["refresh_token"]}, auth=("app", "s"), timeout=5
    )
    assert answer.status_code == 200
    assert _company_info(fresh_sandbox, tokens["access_token"]).status_code == 401
    assert _refresh(fresh_sandbox, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoke_needs_client_auth(fresh_sandbox):
    tokens = _exchange(fresh_sandbox).json()
    url = fresh_sandbox.base_url + "/v2/oauth2/tokens/revoke"
    assert requests.post(url, json={"token": tokens["refresh_token"]}, timeout=5).status_code == 401
    assert _company_info(fresh_sandbox, tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("how", ["python", "http"])
def test_admin_revocation_kills_realm_tokens(fresh_sandbox, how):
    tokens = fresh_sandbox.issue_tokens()
    if how == "python":
        fresh_sandbox.revoke_tokens()
    else:
        requests.post(fresh_sandbox.base_url + "/_sandbox/revoke_tokens", timeout=5)
    assert _company_info(fresh_sandbox, tokens["access_token"]).status_code == 401
    assert (
        _refresh(fresh_sandbox, tokens["refresh_token"], ("sandbox-test-client", "x")).status_code
        == 400
    )


def test_discovery_tells_a_custom_client_the_sandbox_clock_speed():
    from noko_qbo.qbo import environments
    from qbo_sandbox import SandboxServer

    with SandboxServer(time_scale=30.0) as server:
        environment = environments.resolve("custom", server.base_url, refresh=True)
    assert environment.time_scale == 30.0
    assert environments.resolve("production").time_scale == 1.0
