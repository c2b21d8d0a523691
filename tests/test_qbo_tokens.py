"""Rotating tokens: persisted before use, one refresh when several callers race, reconnect."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import qbo_support
import requests

from noko_qbo.qbo.client import QboClient
from noko_qbo.qbo.environments import resolve
from noko_qbo.qbo.errors import ReconnectNeeded
from noko_qbo.qbo.oauth import Tokens
from noko_qbo.qbo.tokens import RotatingTokens, TokenSource


class Journal(requests.Session):
    """A session that notes every request (and who persisted what) in one ordered list."""

    def __init__(self, events):
        super().__init__()
        self.events = events

    def request(self, method, url, *args, **kwargs):
        bearer = (kwargs.get("headers") or {}).get("Authorization", "")
        kind = "token-endpoint" if "/oauth2/" in url else "api"
        self.events.append((kind, bearer.removeprefix("Bearer ")))
        return super().request(method, url, *args, **kwargs)


def connect(server, events, persist=None):
    """A client whose API calls, token-endpoint calls and persists all land in ``events``."""

    def record(fresh):
        events.append(("persist", fresh.access_token))
        if persist:
            persist(fresh)

    client = qbo_support.connect(
        server, persist=record, oauth_session=Journal(events), session=Journal(events)
    )
    return client, client.tokens


def test_rotating_tokens_is_a_token_source():
    assert isinstance(RotatingTokens(None, None, print), TokenSource)


def test_expired_token_401_refreshes_persists_then_retries_with_the_new_token(fresh_sandbox):
    events = []
    client, source = connect(fresh_sandbox, events)
    old = source.current().access_token
    fresh_sandbox.advance_clock(3601)  # the access token expires at the server
    assert client.company_info()["CompanyName"] == "Larkspur Design Studio"
    new = source.current().access_token
    assert new != old
    assert events == [
        ("api", old),  # 401
        ("token-endpoint", ""),
        ("persist", new),  # persisted before any further API call
        ("api", new),
    ]
    assert client.stats["refreshed"] == 1


def test_token_about_to_expire_is_refreshed_before_the_call(fresh_sandbox):
    events = []
    client, source = connect(fresh_sandbox, events)
    source._tokens.access_expires_at = datetime.now(UTC) + timedelta(seconds=30)
    client.preferences()
    assert [kind for kind, _ in events] == ["token-endpoint", "persist", "api"]


def test_racing_refreshes_make_exactly_one_refresh_and_both_callers_work(fresh_sandbox):
    events = []
    client, source = connect(fresh_sandbox, events)
    stale = source.current()
    barrier = threading.Barrier(2)
    got = [None, None]

    def refresh(slot):
        barrier.wait()
        got[slot] = source.refresh(stale)

    threads = [threading.Thread(target=refresh, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [kind for kind, _ in events].count("token-endpoint") == 1
    assert got[0].access_token == got[1].access_token != stale.access_token
    assert client.company_info()["CompanyName"]


def test_two_clients_hit_by_401_together_share_one_refresh(fresh_sandbox):
    events = []
    client, source = connect(fresh_sandbox, events)
    env = client.environment
    twin = QboClient(env, client.realm_id, source, timeout=(2, 5))
    fresh_sandbox.advance_clock(3601)
    barrier = threading.Barrier(2)
    names = []

    def read(c):
        barrier.wait()
        names.append(c.company_info()["CompanyName"])

    threads = [threading.Thread(target=read, args=(c,)) for c in (client, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(names) == 2
    assert [kind for kind, _ in events].count("token-endpoint") == 1


def test_tokens_storage_could_not_keep_are_never_used(fresh_sandbox):
    events = []
    failures = [1]

    def flaky_persist(tokens):
        if failures[0]:
            failures[0] -= 1
            raise OSError("database is gone")

    client, source = connect(fresh_sandbox, events, persist=flaky_persist)
    old = source.current().access_token
    fresh_sandbox.advance_clock(3601)
    with pytest.raises(OSError):
        client.company_info()
    # no API call went out with the unpersisted token
    assert [kind for kind, _ in events] == ["api", "token-endpoint", "persist"]
    assert client.company_info()["CompanyName"]  # persisted on the next use, then used
    assert events[-2][0] == "persist" and events[-1] == ("api", events[-2][1])
    assert events[-1][1] != old


def test_revoked_connection_raises_reconnect_needed(fresh_sandbox):
    client, _source = connect(fresh_sandbox, [])
    fresh_sandbox.revoke_tokens()
    with pytest.raises(ReconnectNeeded) as caught:
        client.company_info()
    assert caught.value.kind == "auth"


def test_a_second_401_after_a_refresh_means_reconnect(fresh_sandbox):
    class UselessOAuth:
        def refresh(self, refresh_token, realm_id=None):
            return Tokens("not-a-token-the-sandbox-knows-about", "r", realm_id=realm_id)

    tokens = Tokens.from_response(fresh_sandbox.issue_tokens(), realm_id=fresh_sandbox.realm_id)
    source = RotatingTokens(UselessOAuth(), tokens, lambda t: None)
    client = QboClient(
        resolve("custom", fresh_sandbox.base_url),
        fresh_sandbox.realm_id,
        source,
        timeout=(2, 5),
    )
    fresh_sandbox.advance_clock(3601)
    with pytest.raises(ReconnectNeeded):
        client.company_info()


def test_a_refresh_that_returns_no_new_refresh_token_keeps_the_current_one():
    in_a_week = datetime.now(UTC) + timedelta(days=7)
    in_five_years = datetime.now(UTC) + timedelta(days=5 * 365)

    class NotRotating:
        def refresh(self, refresh_token, realm_id=None):
            return Tokens(
                "new-access", "", access_expires_at=datetime.now(UTC) + timedelta(hours=1)
            )

    current = Tokens(
        "old-access",
        "still-valid",
        refresh_expires_at=in_a_week,
        refresh_hard_expires_at=in_five_years,
        realm_id="9",
    )
    persisted = []
    source = RotatingTokens(NotRotating(), current, persisted.append)
    fresh = source.refresh(current)
    assert (fresh.access_token, fresh.refresh_token, fresh.realm_id) == (
        "new-access",
        "still-valid",
        "9",
    )
    assert (fresh.refresh_expires_at, fresh.refresh_hard_expires_at) == (in_a_week, in_five_years)
    assert persisted == [fresh]
