"""Shared fixtures: one QBO sandbox per session, reset before each test that asks for it."""

import pytest
import requests

from qbo_sandbox import SandboxServer


class SandboxApi:
    """A bearer-authenticated client for one realm's Accounting API on a sandbox."""

    def __init__(self, server, realm_id=None):
        self.server = server
        self.realm_id = realm_id or server.realm_id
        self.tokens = server.issue_tokens(self.realm_id)
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": "Bearer " + self.tokens["access_token"], "Accept": "application/json"}
        )

    def url(self, route):
        return f"{self.server.base_url}/v3/company/{self.realm_id}/{route}"

    def get(self, route, **params):
        return self.session.get(self.url(route), params={"minorversion": 75, **params}, timeout=10)

    def post(self, route, payload=None, params=None, **kwargs):
        params = {"minorversion": 75, **(params or {})}
        return self.session.post(self.url(route), json=payload, params=params, timeout=10, **kwargs)

    def query(self, statement):
        return self.get("query", query=statement)


@pytest.fixture(scope="session")
def sandbox():
    server = SandboxServer(port=0, hold_seconds=2.0).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_sandbox(sandbox):
    """The session sandbox, back to the demo company with no tokens, limits or planned faults."""
    sandbox.reset()
    yield sandbox
    sandbox.reset()


@pytest.fixture
def api(fresh_sandbox):
    client = SandboxApi(fresh_sandbox)
    yield client
    client.session.close()


@pytest.fixture
def api_for():
    """A SandboxApi for any sandbox (e.g. one from ``make_sandbox``)."""
    clients = []

    def make(server, realm_id=None):
        clients.append(SandboxApi(server, realm_id))
        return clients[-1]

    yield make
    for client in clients:
        client.session.close()


@pytest.fixture
def make_sandbox():
    """Private sandboxes with their own limits or clock, stopped after the test."""
    started = []

    def make(**kwargs):
        kwargs.setdefault("hold_seconds", 2.0)
        server = SandboxServer(port=0, **kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()
