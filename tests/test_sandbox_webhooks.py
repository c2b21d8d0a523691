"""Webhooks: signed, coalesced notifications of changes, with Intuit's retry schedule."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from qbo_sandbox.__main__ import _arguments, _start
from qbo_sandbox.webhooks import signature

TOKEN = "verify_me"
EMILY, AMY = "13", "1"
ACTIVITY = {
    "NameOf": "Employee",
    "EmployeeRef": {"value": EMILY},
    "CustomerRef": {"value": AMY},
    "TxnDate": "2025-03-04",
    "BillableStatus": "Billable",
    "HourlyRate": 90,
    "Hours": 1,
}


def verified(token, body, header):
    """What an app's endpoint does: recompute the HMAC and compare in constant time."""
    expected = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, (header or "").encode())


class Receiver:
    """A local webhook endpoint: answers the statuses it is told to (then 200), keeps bodies."""

    def __init__(self, delay=0.0):
        self.statuses = deque()
        self.received = []
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                valid = verified(TOKEN, raw, self.headers["intuit-signature"])
                receiver.received.append((json.loads(raw), valid))
                status = receiver.statuses.popleft() if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/qbo/webhooks"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.received) >= n


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def _create(api):
    answer = api.post("timeactivity", ACTIVITY)
    assert answer.status_code == 200, answer.text
    return answer.json()["TimeActivity"]


def _events(body):
    """(entity, id, operation) of a CloudEvents array or a legacy body, in order."""
    if isinstance(body, list):
        return [
            (e["type"].split(".")[1], e["intuitentityid"], e["type"].split(".")[2]) for e in body
        ]
    return [
        (e["name"].lower(), e["id"], e["operation"].lower() + "d")
        for n in body["eventNotifications"]
        for e in n["dataChangeEvent"]["entities"]
    ]


def test_signature_matches_intuits_public_test_vector():
    body = b'{"stuff":"5"}'
    assert signature("verify_me", body) == "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="
    assert verified("verify_me", body, "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=")


def test_changes_arrive_as_one_signed_cloudevents_delivery(api, fresh_sandbox, receiver):
    fresh_sandbox.set_webhook(receiver.url, TOKEN)
    created = _create(api)
    updated = api.post("timeactivity", {**created, "Hours": 2}).json()["TimeActivity"]
    api.post(
        "timeactivity",
        {"Id": updated["Id"], "SyncToken": updated["SyncToken"]},
        params={"operation": "delete"},
    )
    assert fresh_sandbox.flush_webhooks()
    assert receiver.wait_for(1)
    ((body, valid),) = receiver.received
    assert valid
    record_id = created["Id"]
    assert [e["type"] for e in body] == [
        "qbo.timeactivity.created.v1",
        "qbo.timeactivity.updated.v1",
        "qbo.timeactivity.deleted.v1",
    ]
    for event in body:
        assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
        assert (event["intuitentityid"], event["intuitaccountid"]) == (
            record_id,
            fresh_sandbox.realm_id,
        )
        assert event["source"].startswith("intuit.") and event["data"] == {}
        assert datetime.fromisoformat(event["time"]).tzinfo is not None
    assert len({e["id"] for e in body}) == 3
    (delivery,) = fresh_sandbox.webhook_deliveries()
    assert (delivery["status"], delivery["attempt"], delivery["events"]) == (200, 1, 3)
    assert delivery["url"] == receiver.url and json.loads(delivery["body"]) == body


def test_legacy_notifications_group_events_by_realm(api, api_for, fresh_sandbox, receiver):
    other = fresh_sandbox.seed({"Employee": [{"DisplayName": "Solo Worker"}]})
    fresh_sandbox.set_webhook(receiver.url, TOKEN, format="legacy")
    mine = _create(api)
    theirs = api_for(fresh_sandbox, other).post(
        "timeactivity", {"NameOf": "Employee", "EmployeeRef": {"value": "1"}, "Hours": 1}
    )
    fresh_sandbox.flush_webhooks()
    assert receiver.wait_for(1)
    ((body, valid),) = receiver.received
    assert valid
    notifications = {n["realmId"]: n for n in body["eventNotifications"]}
    assert set(notifications) == {fresh_sandbox.realm_id, other}
    (entity,) = notifications[fresh_sandbox.realm_id]["dataChangeEvent"]["entities"]
    assert (entity["name"], entity["id"], entity["operation"]) == (
        "TimeActivity",
        mine["Id"],
        "Create",
    )
    assert datetime.fromisoformat(entity["lastUpdated"]).tzinfo is not None
    other_ids = [e["id"] for e in notifications[other]["dataChangeEvent"]["entities"]]
    assert other_ids == [theirs.json()["TimeActivity"]["Id"]]


def test_admin_bill_and_delete_notify_like_a_user_in_qbo(api, fresh_sandbox, receiver):
    billed, deleted = _create(api), _create(api)
    fresh_sandbox.set_webhook(receiver.url, TOKEN)
    invoice_id = fresh_sandbox.bill_time_activities([billed["Id"]])["invoices"][0]
    fresh_sandbox.delete_time_activities([deleted["Id"]])
    fresh_sandbox.flush_webhooks()
    assert receiver.wait_for(1)
    assert _events(receiver.received[0][0]) == [
        ("invoice", invoice_id, "created"),
        ("timeactivity", billed["Id"], "updated"),
        ("timeactivity", deleted["Id"], "deleted"),
    ]


def test_events_are_coalesced_for_a_short_delay_on_the_sandbox_clock(api, fresh_sandbox, receiver):
    fresh_sandbox.set_webhook(receiver.url, TOKEN, delay=60)
    first = _create(api)
    second = _create(api)
    time.sleep(0.3)
    assert receiver.received == []  # still waiting for company
    fresh_sandbox.advance_clock(60)
    assert receiver.wait_for(1)
    assert [i for _entity, i, _op in _events(receiver.received[0][0])] == [
        first["Id"],
        second["Id"],
    ]


def test_endpoint_errors_are_retried_after_20_30_and_50_minutes(api, fresh_sandbox, receiver):
    receiver.statuses.extend([503, 500, 408, 504])
    fresh_sandbox.set_webhook(receiver.url, TOKEN)
    _create(api)
    fresh_sandbox.flush_webhooks()
    for minutes in (20, 30, 50):
        fresh_sandbox.advance_clock(minutes * 60 - 5)
        fresh_sandbox.flush_webhooks()
        assert len(fresh_sandbox.webhook_deliveries()) == len(receiver.received)
        fresh_sandbox.advance_clock(5)
        fresh_sandbox.flush_webhooks()
    fresh_sandbox.advance_clock(24 * 3600)
    fresh_sandbox.flush_webhooks()
    deliveries = fresh_sandbox.webhook_deliveries()
    assert [(d["attempt"], d["status"]) for d in deliveries] == [
        (1, 503),
        (2, 500),
        (3, 408),
        (4, 504),
    ]  # then dropped
    assert len({(d["body"], d["signature"]) for d in deliveries}) == 1  # the same notification
    assert all(valid for _body, valid in receiver.received)


@pytest.mark.parametrize("status", [401, 400, 404, 429, 302])
def test_other_statuses_are_not_retried(api, fresh_sandbox, receiver, status):
    receiver.statuses.append(status)
    fresh_sandbox.set_webhook(receiver.url, TOKEN)
    _create(api)
    fresh_sandbox.flush_webhooks()
    fresh_sandbox.advance_clock(3 * 3600)
    fresh_sandbox.flush_webhooks()
    assert [d["status"] for d in fresh_sandbox.webhook_deliveries()] == [status]


def test_an_unreachable_endpoint_counts_as_down(api, fresh_sandbox, receiver):
    url = receiver.url
    receiver.close()
    fresh_sandbox.set_webhook(url, TOKEN)
    _create(api)
    fresh_sandbox.flush_webhooks()
    fresh_sandbox.advance_clock(20 * 60)
    fresh_sandbox.flush_webhooks()
    deliveries = fresh_sandbox.webhook_deliveries()
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, None), (2, None)]
    assert deliveries[0]["error"]


def test_time_scale_shrinks_the_retry_schedule(make_sandbox, api_for, receiver):
    server = make_sandbox(time_scale=12000, access_token_lifetime=10**9)
    receiver.statuses.extend([503, 503, 503])
    server.set_webhook(receiver.url, TOKEN, delay=0)
    _create(api_for(server))
    assert receiver.wait_for(4, timeout=5)  # 100 sandbox minutes in half a real second


def test_a_slow_endpoint_never_slows_the_api(api, fresh_sandbox):
    slow = Receiver(delay=0.6)
    try:
        fresh_sandbox.set_webhook(slow.url, TOKEN, delay=0)
        _create(api)
        time.sleep(0.1)  # the sender is now inside its slow POST
        started = time.monotonic()
        for _ in range(5):
            _create(api)
        assert time.monotonic() - started < 0.5
        assert fresh_sandbox.flush_webhooks(timeout=10)
        assert sum(len(body) for body, _valid in slow.received) == 6
    finally:
        slow.close()


def test_webhook_admin_over_http_and_turning_it_off(api, fresh_sandbox, receiver):
    admin = fresh_sandbox.base_url + "/_sandbox/"
    answer = requests.post(
        admin + "webhook",
        json={"url": receiver.url, "verifier_token": TOKEN, "format": "legacy"},
        timeout=5,
    )
    assert answer.status_code == 200
    _create(api)
    assert requests.post(admin + "flush_webhooks", timeout=10).json()["result"] is True
    deliveries = requests.get(admin + "webhook_deliveries", timeout=5).json()["result"]
    assert [d["status"] for d in deliveries] == [200]
    assert "eventNotifications" in json.loads(deliveries[0]["body"])
    assert requests.post(admin + "webhook", json={}, timeout=5).status_code == 200
    _create(api)
    fresh_sandbox.flush_webhooks()
    assert len(fresh_sandbox.webhook_deliveries()) == 1
    bad = requests.post(
        admin + "webhook", json={"url": receiver.url, "verifier_token": TOKEN, "format": "xml"}
    )
    assert bad.status_code == 400


def test_stop_ends_the_sender_thread(make_sandbox, api_for, receiver):
    server = make_sandbox()
    before = set(threading.enumerate())
    server.set_webhook(receiver.url, TOKEN, delay=3600)
    (sender,) = [t for t in set(threading.enumerate()) - before if t.name == "qbo-webhooks"]
    _create(api_for(server))
    server.stop()
    assert not sender.is_alive()


def test_the_command_line_registers_a_webhook(receiver, api_for):
    args = ["--port=0", "--webhook-url", receiver.url, "--webhook-verifier-token", TOKEN]
    server = _start(_arguments([*args, "--webhook-format", "legacy"]))
    try:
        _create(api_for(server))
        server.flush_webhooks()
        assert receiver.wait_for(1)
        ((body, valid),) = receiver.received
        assert valid and "eventNotifications" in body
    finally:
        server.stop()


def test_reset_turns_webhooks_off_and_forgets_a_delivery_in_flight(api_for, fresh_sandbox):
    slow = Receiver(delay=0.5)
    try:
        fresh_sandbox.set_webhook(slow.url, TOKEN, delay=0)
        _create(api_for(fresh_sandbox))
        time.sleep(0.1)  # the delivery is in flight
        fresh_sandbox.reset()
        assert slow.wait_for(1)
        time.sleep(0.1)
        _create(api_for(fresh_sandbox))
        fresh_sandbox.flush_webhooks()
        assert fresh_sandbox.webhook_deliveries() == []
        assert len(slow.received) == 1
    finally:
        slow.close()
