"""Shared helpers of the QBO client tests: a client on a sandbox, or on a scripted QBO."""

import json
import random
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

from noko_qbo.qbo.client import QboClient
from noko_qbo.qbo.environments import Environment, resolve
from noko_qbo.qbo.oauth import OAuthClient, Tokens
from noko_qbo.qbo.pacing import RealmPacer
from noko_qbo.qbo.retry import RetryPolicy
from noko_qbo.qbo.tokens import RotatingTokens
from noko_qbo.qbo.windows import WindowState

#: The app the sandbox's ``issue_tokens()`` grants to (its refresh grant checks it).
CLIENT_ID = "sandbox-test-client"


def connect(server, *, limits=None, persist=None, oauth_session=None, shared_pacer=False, **kwargs):
    """A QboClient on ``server``'s demo company with fresh tokens and quick retries.

    Its pacer is its own (windows of earlier tests on the session sandbox would
    hold it), unless ``shared_pacer``: then the process-wide one of the realm.
    """
    env = resolve("custom", server.base_url)
    oauth = OAuthClient(env, CLIENT_ID, "secret", "https://x/cb", session=oauth_session)
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    source = RotatingTokens(oauth, tokens, persist or (lambda tokens: None))
    time_scale = server.clock.time_scale
    kwargs.setdefault("timeout", (2, 5))
    kwargs.setdefault(
        "retry",
        RetryPolicy(base_delay=0.01, max_delay=0.05, time_scale=time_scale, rng=random.Random(0)),
    )
    if not shared_pacer:
        kwargs.setdefault("pacer", RealmPacer(limits, time_scale=time_scale))
    return QboClient(env, server.realm_id, source, limits=limits, time_scale=time_scale, **kwargs)


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class SerializedWindowStore:
    """A WindowStore that keeps only JSON, as a database row would: what two processes share."""

    def __init__(self, clock):
        self._clock = clock
        self._lock = threading.Lock()
        self.row = json.dumps(WindowState().to_dict())
        self.transactions = 0

    @contextmanager
    def transaction(self):
        with self._lock:
            state = WindowState.from_dict(json.loads(self.row))
            yield state, self._clock()
            self.row = json.dumps(state.to_dict())
            self.transactions += 1


class Reply:
    """What ``requests`` answers, as far as the client reads it."""

    def __init__(self, status=200, body=None, headers=None):
        self.status_code = status
        self.headers = headers or {}
        if isinstance(body, dict | list):
            body = json.dumps(body)
        self.content = (body or "").encode("utf-8") if isinstance(body, str) else body or b""


def fault_body(code, message="", detail="", element=""):
    error = {"Message": message, "Detail": detail, "code": str(code), "element": element}
    return {"Fault": {"Error": [error], "type": "ValidationFault"}}


class ScriptedQbo:
    """A ``requests.Session`` stand-in: ``handler(method, route, params, body) -> Reply``.

    ``route`` is the path under the company (``batch``, ``timeactivity``,
    ``query``...); ``body`` the parsed JSON, or the text of a query. Every
    call is recorded in ``calls``.
    """

    def __init__(self, handler):
        self.handler = handler
        self.calls = []
        self._lock = threading.Lock()

    def request(self, method, url, params=None, data=None, headers=None, timeout=None):
        route = urlsplit(url).path.split("/company/", 1)[1].split("/", 1)[1]
        text = data.decode("utf-8") if data else ""
        body = text if route == "query" else (json.loads(text) if text else None)
        with self._lock:
            self.calls.append((method, route, dict(params or {}), body))
        return self.handler(method, route, dict(params or {}), body)

    def routes(self):
        return [route for _method, route, _params, _body in self.calls]


class StaticTokens:
    """A TokenSource whose tokens never expire."""

    def __init__(self):
        self.tokens = Tokens("access", "refresh", realm_id="123")

    def current(self):
        return self.tokens

    def refresh(self, stale):
        raise AssertionError("no refresh expected")


def scripted_client(handler, *, limits=None, clock=None, time_scale=1.0, **kwargs):
    """A QboClient talking to a :class:`ScriptedQbo`, paced on ``clock`` (a FakeClock)."""
    clock = clock or FakeClock()
    env = Environment("custom", "http://qbo.test/v3", "a", "t", "r")
    session = ScriptedQbo(handler)
    pacer = RealmPacer(
        limits,
        store=SerializedWindowStore(clock),
        time_scale=time_scale,
        monotonic=clock,
        sleep=clock.sleep,
    )
    kwargs.setdefault(
        "retry",
        RetryPolicy(time_scale=time_scale, sleep=clock.sleep, clock=clock, rng=random.Random(0)),
    )
    client = QboClient(
        env, "123", StaticTokens(), session=session, pacer=pacer, time_scale=time_scale, **kwargs
    )
    return client, session, clock
