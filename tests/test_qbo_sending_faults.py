"""The sender's decisions on a scripted QBO: duplicates, requestids, 429s and deadlines."""

from collections import Counter

import pytest
from qbo_support import FakeClock, Reply, fault_body, scripted_client

from noko_qbo.qbo import payloads
from noko_qbo.qbo.limits import Limits
from noko_qbo.qbo.retry import RetryPolicy

#: One worker: the fake clock is not shared by threads.
ONE_WORKER = Limits(concurrent=2)


def lines(n):
    made = [
        payloads.build_time_activity(
            "2025-04-01", "Employee", "13", hours=1, minutes=i, customer_id="1", description=f"L{i}"
        )
        for i in range(n)
    ]
    return made, [f"db:{i}" for i in range(n)]


def stored(payload, key, qbo_id):
    """The TimeActivity QBO holds for a line sent with its marker."""
    marked = payloads.with_marker(payloads.normalize(payload), key)
    return {**marked, "Id": qbo_id, "SyncToken": "0"}


def query_answer(rows):
    return Reply(200, {"QueryResponse": {"TimeActivity": rows} if rows else {}})


def test_a_duplicate_name_fails_its_line_but_a_duplicate_request_is_reconciled():
    sent, keys = lines(2)

    def qbo(method, route, params, body):
        if route == "query":
            return query_answer([stored(sent[1], keys[1], "77")])
        items = body["BatchItemRequest"]
        return Reply(
            200,
            {
                "BatchItemResponse": [
                    {"bId": items[0]["bId"], **fault_body(6240, "Duplicate Name Exists Error")},
                    {"bId": items[1]["bId"], **fault_body(600, "Duplicate Request ID")},
                ]
            },
        )

    client, session, _clock = scripted_client(qbo, limits=ONE_WORKER)
    results = client.send_time_activities(sent, keys)
    assert (results[0].outcome, results[0].fault.kind, results[0].fault.code) == (
        "failed",
        "duplicate",
        "6240",
    )
    assert (results[1].outcome, results[1].qbo_id) == ("reconciled", "77")
    assert session.routes() == ["batch", "query"]


@pytest.mark.parametrize(("code", "outcome"), [(600, "reconciled"), (6240, "failed")])
def test_a_single_create_answered_600_is_reconciled_and_6240_fails(code, outcome):
    sent, keys = lines(1)

    def qbo(method, route, params, body):
        if route == "query":
            return query_answer([stored(sent[0], keys[0], "5")])
        return Reply(400, fault_body(code, "Duplicate"))

    client, session, _clock = scripted_client(qbo, limits=ONE_WORKER)
    results = client.send_time_activities(sent, keys)
    assert results[0].outcome == outcome
    assert session.routes()[0] == "timeactivity"  # one line: a single create, not a batch


def test_a_replay_within_one_call_reuses_the_requestid_and_a_new_attempt_does_not():
    sent, keys = lines(3)
    answers = iter(["503"] * 4 + ["500", "ok"])  # client retries, sender round, uncertain

    def qbo(method, route, params, body):
        if route == "query":
            return query_answer([])  # the uncertain try created nothing
        answer = next(answers, "ok")
        if answer == "503":
            return Reply(503, "<html><title>503 Service Unavailable</title></html>")
        if answer == "500":
            return Reply(500, fault_body(10000, "An application error has occurred"))
        items = body["BatchItemRequest"]
        return Reply(
            200,
            {
                "BatchItemResponse": [
                    {"bId": i["bId"], "TimeActivity": {"Id": i["bId"]}} for i in items
                ]
            },
        )

    clock = FakeClock()
    retry = RetryPolicy(base_delay=0.1, sleep=clock.sleep, clock=clock)
    client, session, _clock = scripted_client(qbo, limits=ONE_WORKER, clock=clock, retry=retry)
    results = client.send_time_activities(sent, keys, attempt="run-3/1")
    assert {r.outcome for r in results} == {"created"}
    batch_ids = [params["requestid"] for _m, route, params, _b in session.calls if route == "batch"]
    assert len(batch_ids) == 6 and len(set(batch_ids)) == 1
    client.send_time_activities(sent, keys, attempt="run-3/2")
    assert session.calls[-1][2]["requestid"] != batch_ids[0]


def test_throttled_everywhere_with_a_deadline_defers_every_line_without_sleeping_past_it():
    sent, keys = lines(40)

    def qbo(method, route, params, body):
        return Reply(429, "")  # no Retry-After: QBO asks for a minute

    client, session, clock = scripted_client(qbo, limits=ONE_WORKER)
    start = clock.now
    results = client.send_time_activities(sent, keys, deadline=start + 5)
    assert clock.now <= start + 5
    assert Counter(r.outcome for r in results) == {"deferred": 40}
    assert all(r.qbo_id is None and r.fault.retryable for r in results)
    assert all(55 <= r.retry_after <= 60 for r in results)
    # a batch first (paused batches only), then a single create (paused the realm), then stop
    assert session.routes() == ["batch", "timeactivity"]


def test_429s_that_go_on_end_in_deferred_lines_not_failed_ones():
    sent, keys = lines(2)

    def qbo(method, route, params, body):
        return Reply(429, "", headers={"Retry-After": "1"})

    client, session, clock = scripted_client(qbo, limits=ONE_WORKER)
    results = client.send_time_activities(sent, keys)
    assert [r.outcome for r in results] == ["deferred", "deferred"]
    assert all(r.retry_after == 1.0 and r.fault.kind == "throttle" for r in results)
    assert len(session.calls) <= 2 * client.retry.throttle_attempts


def test_reconcile_first_past_the_deadline_defers_every_line_and_sends_nothing():
    sent, keys = lines(3)

    def qbo(method, route, params, body):
        return Reply(429, "", headers={"Retry-After": "30"})

    client, session, clock = scripted_client(qbo, limits=ONE_WORKER)
    results = client.send_time_activities(sent, keys, reconcile_first=True, deadline=clock.now + 2)
    assert [r.outcome for r in results] == ["deferred"] * 3
    assert session.routes() == ["query"]


def test_a_deadline_reached_after_some_lines_were_created_keeps_them():
    sent, keys = lines(45)
    created = iter(range(1, 1000))

    def qbo(method, route, params, body):
        if route == "batch":
            items = body["BatchItemRequest"]
            answers = [{"bId": i["bId"], "TimeActivity": {"Id": str(next(created))}} for i in items]
            return Reply(200, {"BatchItemResponse": answers})
        return Reply(429, "")

    limits = Limits(concurrent=2, batch_per_minute=1, headroom_per_minute=0)
    client, session, clock = scripted_client(qbo, limits=limits, batch_size=30)
    results = client.send_time_activities(sent, keys, deadline=clock.now + 1)
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {"created": 30, "deferred": 15}
    assert all(r.qbo_id for r in results[:30])


def test_a_pacing_store_that_fails_mid_run_still_answers_every_line():
    sent, keys = lines(45)

    def qbo(method, route, params, body):
        items = body["BatchItemRequest"]
        answers = [{"bId": i["bId"], "TimeActivity": {"Id": f"9{i['bId']}"}} for i in items]
        return Reply(200, {"BatchItemResponse": answers})

    client, _session, _clock = scripted_client(qbo, limits=ONE_WORKER)
    store, transactions = client.pacer.store, [0]
    original = store.transaction

    def failing_transaction():
        transactions[0] += 1
        if transactions[0] > 2:  # the first batch is admitted and answered, then the row is gone
            raise OSError("database connection lost")
        return original()

    store.transaction = failing_transaction
    results = client.send_time_activities(sent, keys)
    assert [r.outcome for r in results[:30]] == ["created"] * 30
    assert {r.outcome for r in results[30:]} == {"failed"}
    assert all(r.fault.code == "OSError" for r in results[30:])
