"""Throttling per realm and app (per minute, per second, batch, in flight) and per realm."""

import contextlib
import http.client
import threading
import time

import pytest
import requests

from qbo_sandbox import Limits
from qbo_sandbox.__main__ import _arguments, _limits

ACTIVITY = {
    "NameOf": "Employee",
    "EmployeeRef": {"value": "13"},
    "Hours": 1,
    "TxnDate": "2025-03-04",
}
BATCH = {"BatchItemRequest": [{"bId": "b1", "operation": "create", "TimeActivity": ACTIVITY}]}


def _is_throttle(answer):
    return (
        answer.status_code == 429
        and answer.headers["Content-Type"].startswith("application/xml")
        and '<Error code="3001">' in answer.text
        and "message=ThrottleExceeded; errorCode=003001; statusCode=429" in answer.text
    )


def test_requests_per_minute_then_429_in_xml(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_minute=5))
    api = api_for(server)
    assert [api.query("select * from Class").status_code for _ in range(5)] == [200] * 5
    assert _is_throttle(api.query("select * from Class"))
    server.advance_clock(60)
    assert api.query("select * from Class").status_code == 200


def test_throttled_requests_are_not_applied_but_counted(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_minute=2))
    api = api_for(server)
    statuses = [api.post("timeactivity", ACTIVITY).status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert len(server.entities("TimeActivity")) == 2
    stats = server.stats()
    assert (stats["requests"], stats["throttled"], stats["created"]) == (4, 2, 2)


def test_requests_per_second(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_second=3))
    api = api_for(server)
    assert [api.get("preferences").status_code for _ in range(3)] == [200] * 3
    assert _is_throttle(api.get("preferences"))
    server.advance_clock(1)
    assert api.get("preferences").status_code == 200
    assert server.stats()["throttled_by"] == {"requests_per_second": 1}


def test_limits_are_per_app_on_a_realm(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_minute=1))
    ours = api_for(server)
    theirs = api_for(server)
    theirs.session.headers["Authorization"] = (
        "Bearer " + server.issue_tokens(client_id="another-app")["access_token"]
    )
    assert ours.get("preferences").status_code == 200
    assert _is_throttle(ours.get("preferences"))
    assert theirs.get("preferences").status_code == 200
    assert server.stats()["throttled_by"] == {"requests_per_minute": 1}


def test_every_app_on_a_realm_shares_one_batch_budget(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(batch_per_minute=40, realm_batch_per_minute=3))
    ours = api_for(server)
    theirs = api_for(server)
    theirs.session.headers["Authorization"] = (
        "Bearer " + server.issue_tokens(client_id="another-app")["access_token"]
    )
    assert [ours.post("batch", BATCH).status_code for _ in range(2)] == [200, 200]
    assert theirs.post("batch", BATCH).status_code == 200
    assert _is_throttle(ours.post("batch", BATCH))
    assert _is_throttle(theirs.post("batch", BATCH))
    assert ours.query("select * from Class").status_code == 200  # only batches are capped
    assert server.stats()["throttled_by"] == {"realm_batch_per_minute": 2}


def test_another_app_can_use_up_the_realm_batch_budget(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(batch_per_minute=2, realm_batch_per_minute=120))
    api = api_for(server)
    server.simulate_other_app(120)
    assert [_is_throttle(api.post("batch", BATCH)) for _ in range(3)] == [True] * 3
    assert server.entities("TimeActivity") == []
    server.advance_clock(60)
    # the refused batches used none of our own 2 a minute
    assert [api.post("batch", BATCH).status_code for _ in range(2)] == [200, 200]
    stats = server.stats()
    assert stats["throttled_by"] == {"realm_batch_per_minute": 3}
    assert stats["other_app_batches"] == 120


def test_other_apps_batches_over_http_expire_after_a_minute(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(realm_batch_per_minute=5))
    api = api_for(server)
    answer = requests.post(
        server.base_url + "/_sandbox/simulate_other_app", json={"batches": 4}, timeout=5
    )
    assert answer.status_code == 200
    assert api.post("batch", BATCH).status_code == 200
    assert _is_throttle(api.post("batch", BATCH))
    server.advance_clock(60)
    assert api.post("batch", BATCH).status_code == 200


def test_a_throttle_storm_refuses_everything_until_it_ends(make_sandbox, api_for):
    server = make_sandbox()
    api = api_for(server)
    answer = requests.post(
        server.base_url + "/_sandbox/throttle_for", json={"seconds": 30}, timeout=5
    )
    assert answer.status_code == 200
    assert _is_throttle(api.get("preferences"))
    assert _is_throttle(api.post("timeactivity", ACTIVITY))
    assert server.entities("TimeActivity") == []
    server.advance_clock(31)
    assert api.post("timeactivity", ACTIVITY).status_code == 200
    assert server.stats()["throttled_by"] == {"storm": 2}


def test_every_limit_is_configurable_from_the_command_line():
    args = _arguments(
        [
            "--requests-per-minute=50",
            "--batch-per-minute=4",
            "--concurrent=2",
            "--batch-max-items=10",
            "--requests-per-second=3",
            "--realm-batch-per-minute=12",
        ]
    )
    assert _limits(args) == Limits(50, 4, 2, 10, requests_per_second=3, realm_batch_per_minute=12)
    assert _limits(_arguments([])) == Limits()


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(requests_per_second=0)


def test_limits_are_per_realm(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_minute=1))
    other = server.seed({"CompanyInfo": {"CompanyName": "Other"}})
    assert api_for(server).get("preferences").status_code == 200
    assert api_for(server).get("preferences").status_code == 429
    assert api_for(server, other).get("preferences").status_code == 200


def test_batch_requests_per_minute(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(batch_per_minute=3))
    api = api_for(server)
    assert [api.post("batch", BATCH).status_code for _ in range(3)] == [200] * 3
    assert _is_throttle(api.post("batch", BATCH))
    assert api.query("select * from Class").status_code == 200
    assert server.stats()["batch_requests"] == 3


def test_time_scale_plays_a_minute_in_a_second(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(requests_per_minute=3), time_scale=120)
    api = api_for(server)
    for _ in range(3):
        api.get("preferences")
    assert api.get("preferences").status_code == 429
    time.sleep(0.6)  # 72 sandbox seconds
    assert api.get("preferences").status_code == 200


def test_more_concurrent_requests_than_allowed_get_429(make_sandbox, api_for):
    server = make_sandbox(limits=Limits(concurrent=2), hold_seconds=5)
    api = api_for(server)
    server.fail_next(2, "timeout")
    url = api.url("preferences")

    def hold():
        with contextlib.suppress(requests.RequestException):
            requests.get(url, headers=api.session.headers, timeout=5)

    callers = [threading.Thread(target=hold) for _ in range(2)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 5
    while server.stats()["in_flight"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _is_throttle(api.get("preferences"))
    server.injector.release_holds()
    for caller in callers:
        caller.join(5)
    assert api.get("preferences").status_code == 200


def test_keep_alive_connections_are_reused(api, fresh_sandbox):
    connection = http.client.HTTPConnection(fresh_sandbox.host, fresh_sandbox.port, timeout=5)
    path = f"/v3/company/{fresh_sandbox.realm_id}/preferences"
    headers = {"Authorization": api.session.headers["Authorization"], "Accept": "application/json"}
    sockets = []
    for _ in range(3):
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200 and not answer.will_close
        sockets.append(connection.sock)
    connection.close()
    assert sockets[0] is sockets[1] is sockets[2]
