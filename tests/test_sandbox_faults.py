"""Injected failures and the irregular fault bodies QBO really sends."""

import threading

import pytest
import requests

ACTIVITY = {
    "NameOf": "Employee",
    "EmployeeRef": {"value": "13"},
    "Hours": 1,
    "TxnDate": "2025-03-04",
}
BATCH = {"BatchItemRequest": [{"bId": "b1", "operation": "create", "TimeActivity": ACTIVITY}]}


@pytest.mark.parametrize("status", ["502", "503"])
def test_gateway_errors_come_as_html(api, fresh_sandbox, status):
    fresh_sandbox.fail_next(1, status)
    answer = api.post("timeactivity", ACTIVITY)
    assert answer.status_code == int(status)
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text.lstrip().startswith("<html>")
    assert fresh_sandbox.entities("TimeActivity") == []
    assert api.post("timeactivity", ACTIVITY).status_code == 200


def test_injected_500_is_a_system_fault(api, fresh_sandbox):
    fresh_sandbox.fail_next(1, "500")
    answer = api.post("timeactivity", ACTIVITY)
    assert answer.status_code == 500
    assert answer.json()["Fault"]["Error"][0]["code"] == "10000"
    assert fresh_sandbox.entities("TimeActivity") == []


def test_fail_next_counts_down_and_filters_by_path(api, fresh_sandbox):
    fresh_sandbox.fail_next(2, "503", path="/batch")
    assert api.query("select * from Class").status_code == 200
    assert api.post("batch", BATCH).status_code == 503
    assert api.post("batch", BATCH).status_code == 503
    assert api.post("batch", BATCH).status_code == 200


def test_reset_drops_the_connection_without_applying(api, fresh_sandbox):
    fresh_sandbox.fail_next(1, "reset")
    with pytest.raises(requests.ConnectionError):
        api.post("timeactivity", ACTIVITY)
    assert fresh_sandbox.entities("TimeActivity") == []


def test_timeout_holds_the_request_and_applies_nothing(api, fresh_sandbox):
    fresh_sandbox.fail_next(1, "timeout")
    with pytest.raises(requests.Timeout):
        api.session.post(api.url("timeactivity"), json=ACTIVITY, timeout=0.3)
    fresh_sandbox.injector.release_holds()
    assert fresh_sandbox.entities("TimeActivity") == []


def test_stop_releases_held_requests(make_sandbox, api_for):
    server = make_sandbox(hold_seconds=60)
    api = api_for(server)
    server.fail_next(1, "timeout")
    outcome = []

    def call():
        try:
            api.session.post(api.url("timeactivity"), json=ACTIVITY, timeout=30)
        except requests.RequestException as error:
            outcome.append(type(error))

    caller = threading.Thread(target=call)
    caller.start()
    while server.stats()["in_flight"] == 0:
        threading.Event().wait(0.01)
    server.stop()
    caller.join(5)
    assert not caller.is_alive()
    assert outcome and issubclass(outcome[0], requests.ConnectionError)


def test_apply_then_drop_stores_the_change_but_loses_the_answer(api, fresh_sandbox):
    fresh_sandbox.apply_then_drop(1, path="/batch")
    with pytest.raises(requests.ConnectionError):
        api.post("batch", BATCH, params={"requestid": "chunk-1"})
    assert len(fresh_sandbox.entities("TimeActivity")) == 1
    replay = api.post("batch", BATCH, params={"requestid": "chunk-1"})
    assert replay.json()["BatchItemResponse"][0]["TimeActivity"]["Id"]
    assert len(fresh_sandbox.entities("TimeActivity")) == 1


def test_missing_bearer_gets_the_gateway_fault(fresh_sandbox):
    url = f"{fresh_sandbox.base_url}/v3/company/{fresh_sandbox.realm_id}/preferences"
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["fault"]["error"][0]["code"] == "3200"
    assert isinstance(answer.json()["time"], int)


def test_admin_endpoints_drive_injection_over_http(api, fresh_sandbox):
    admin = fresh_sandbox.base_url + "/_sandbox/"
    assert requests.post(admin + "fail_next", json={"n": 1, "mode": "502"}, timeout=5).ok
    assert api.post("timeactivity", ACTIVITY).status_code == 502
    requests.post(admin + "set_closed_books", json={"date": "2030-01-01"}, timeout=5)
    assert api.post("timeactivity", ACTIVITY).json()["Fault"]["Error"][0]["code"] == "6210"
    requests.post(admin + "set_closed_books", json={"date": None}, timeout=5)
    requests.post(admin + "set_time_tracking?enabled=false", timeout=5)
    assert api.post("timeactivity", ACTIVITY).json()["Fault"]["Error"][0]["code"] == "6000"
    requests.post(admin + "set_time_tracking", json={"enabled": True}, timeout=5)
    assert api.post("timeactivity", ACTIVITY).status_code == 200
    stored = requests.get(admin + "entities/TimeActivity", timeout=5).json()["result"]
    assert len(stored) == 1
    stats = requests.get(admin + "stats", timeout=5).json()["result"]
    assert stats["requests"] == 4 and stats["injected"] == 1
    assert requests.post(admin + "reset", timeout=5).ok
    assert fresh_sandbox.entities("TimeActivity") == []


def test_admin_rejects_unknown_commands_and_modes(fresh_sandbox):
    admin = fresh_sandbox.base_url + "/_sandbox/"
    assert requests.post(admin + "format_disk", timeout=5).status_code == 404
    assert requests.post(admin + "fail_next", json={"mode": "418"}, timeout=5).status_code == 400
