"""send_time_activities: paced batches, per-line faults, no duplicates, no line lost."""

import time
from collections import Counter
from datetime import datetime

import pytest
from qbo_support import connect

from noko_qbo.qbo import payloads
from noko_qbo.qbo.errors import ReconnectNeeded
from noko_qbo.qbo.limits import Limits, lines_per_minute_bound
from noko_qbo.qbo.retry import RetryPolicy
from noko_qbo.qbo.sending import request_id_for
from qbo_sandbox import Limits as SandboxLimits

EMPLOYEES = ["13", "14", "15", "16", "17", "18"]
CUSTOMERS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]
VENDOR = "20"
CLOSED_CUSTOMER = "12"


def lines(n, prefix="db1"):
    """``n`` distinct, valid TimeActivity payloads and their stable keys."""
    made = []
    for i in range(n):
        made.append(
            payloads.build_time_activity(
                f"2025-02-{1 + i % 28:02d}",
                "Employee",
                EMPLOYEES[i % len(EMPLOYEES)],
                hours=i % 8,
                minutes=15 + i % 4 * 10,
                customer_id=CUSTOMERS[i % len(CUSTOMERS)],
                item_id="23",
                description=f"Timesheet line {i}: Café Zoë & Amy's",
            )
        )
    return made, [f"{prefix}:{i}" for i in range(n)]


def assert_no_duplicates(server):
    markers = Counter(
        payloads.marker_in(stored["Description"]) for stored in server.entities("TimeActivity")
    )
    assert markers and max(markers.values()) == 1


def test_a_thousand_lines_go_in_full_batches_while_the_batch_budget_lasts(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(1005)
    results = client.send_time_activities(sent, keys)
    assert [r.key for r in results] == keys
    assert {r.outcome for r in results} == {"created"}
    assert len({r.qbo_id for r in results}) == 1005
    stats = server.stats()
    assert stats["throttled"] == 0
    assert stats["batch_requests"] == 34  # ceil(1005 / 30)
    assert_no_duplicates(server)
    # and query_all pages through more than 1000 records
    assert len(client.query_all("TimeActivity")) == 1005


def test_every_line_carries_its_marker_and_description(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(3)
    results = client.send_time_activities(sent, keys)
    stored = {s["Id"]: s for s in server.entities("TimeActivity")}
    for result, payload in zip(results, sent, strict=True):
        description = stored[result.qbo_id]["Description"]
        assert description.startswith(payload["Description"])
        assert description.endswith(payloads.marker(result.key))


def test_mixed_faults_are_reported_per_line_and_the_rest_is_created(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(40)
    sent[3]["CustomerRef"] = {"value": CLOSED_CUSTOMER}  # QBO: 610
    sent[17]["EmployeeRef"] = {"value": "999"}  # QBO: 2500
    sent[35] = {**sent[35], "BillableStatus": "Billable"}  # no rate: refused before sending
    sent[36] = {**sent[36], "Hours": 0, "Minutes": 0}  # no duration: refused before sending
    results = client.send_time_activities(sent, keys)
    failed = {i: r.fault for i, r in enumerate(results) if r.outcome == "failed"}
    assert sorted(failed) == [3, 17, 35, 36]
    assert (failed[3].kind, failed[3].code) == ("not_found", "610")
    assert (failed[17].kind, failed[17].code) == ("validation", "2500")
    assert failed[35].code == failed[36].code == "client"
    assert all(r.qbo_id for i, r in enumerate(results) if i not in failed)
    assert len(server.entities("TimeActivity")) == 36
    assert server.stats()["batch_requests"] == 2  # 38 sendable lines: batches of 30 and 8


def test_applied_then_dropped_batch_is_reconciled_not_duplicated(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server, batch_size=10)
    sent, keys = lines(25)
    server.apply_then_drop(1, path="/batch")
    results = client.send_time_activities(sent, keys)
    outcomes = Counter(r.outcome for r in results)
    # Batches go out on several threads: the dropped one is a 10-line or the 5-line batch,
    # and exactly its lines are reconciled.
    assert outcomes["reconciled"] in (10, 5)
    assert outcomes == {
        "created": 25 - outcomes["reconciled"],
        "reconciled": outcomes["reconciled"],
    }
    assert all(r.qbo_id for r in results)
    assert len(server.entities("TimeActivity")) == 25
    assert_no_duplicates(server)


def test_batch_timeout_is_reconciled_then_sent_once(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server, timeout=(1, 0.3))
    sent, keys = lines(12)
    server.fail_next(1, "timeout", path="batch")
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert len(server.entities("TimeActivity")) == 12
    assert_no_duplicates(server)


@pytest.mark.parametrize("mode", ["503", "500", "502", "reset"])
def test_injected_batch_failures_end_with_every_line_created_once(make_sandbox, mode):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(45)
    server.fail_next(2, mode, path="batch")
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert len(server.entities("TimeActivity")) == 45
    assert_no_duplicates(server)


def test_client_pacing_keeps_tiny_limits_without_a_single_429(make_sandbox):
    tiny = dict(requests_per_minute=30, batch_per_minute=6, concurrent=2)
    server = make_sandbox(limits=SandboxLimits(**tiny, batch_max_items=10), time_scale=60)
    client = connect(server, limits=Limits(**tiny), batch_size=10)
    sent, keys = lines(100)
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert server.stats()["throttled"] == 0
    assert client.stats["throttled"] == 0


def test_throttle_storm_is_waited_out_and_no_line_is_lost(make_sandbox):
    # The client believes in QBO's real limits; this realm allows far less.
    server = make_sandbox(
        limits=SandboxLimits(requests_per_minute=40, batch_per_minute=4, concurrent=3),
        time_scale=120,
    )
    client = connect(
        server,
        batch_size=10,
        retry=RetryPolicy(throttle_attempts=8, base_delay=0.01, time_scale=120),
    )
    sent, keys = lines(120)
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert server.stats()["throttled"] > 0  # the storm did happen...
    assert len(server.entities("TimeActivity")) == 120  # ...and nothing was lost or doubled
    assert_no_duplicates(server)


def test_a_dead_connection_stops_the_run_and_reports_every_line(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server, batch_size=10)
    sent, keys = lines(50)
    server.revoke_tokens()
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"failed"}
    assert all(isinstance(r.fault, ReconnectNeeded) for r in results)
    assert server.stats()["batch_requests"] == 0


def test_reconcile_first_finds_lines_a_crashed_run_already_created(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(20)
    first = client.send_time_activities(sent, keys)
    again = client.send_time_activities(sent, keys, reconcile_first=True)
    assert {r.outcome for r in again} == {"reconciled"}
    assert [r.qbo_id for r in again] == [r.qbo_id for r in first]
    assert len(server.entities("TimeActivity")) == 20


def test_keys_must_be_unique_and_one_per_payload(make_sandbox):
    client = connect(make_sandbox(time_scale=600))
    sent, _keys = lines(2)
    with pytest.raises(ValueError):
        client.send_time_activities(sent, ["k", "k"])
    with pytest.raises(ValueError):
        client.send_time_activities(sent, ["k"])


def test_request_ids_depend_on_the_attempt_the_lines_and_their_payloads():
    sent, keys = lines(30)
    first = request_id_for("run-7/1", keys, sent)
    assert first == request_id_for("run-7/1", list(keys), [dict(p) for p in sent])
    assert len(first) == 36
    assert first != request_id_for("run-7/2", keys, sent)  # another attempt
    assert first != request_id_for("run-7/1", keys[:-1], sent[:-1])  # other lines
    edited = [dict(p) for p in sent]
    edited[3]["Minutes"] = 59
    assert first != request_id_for("run-7/1", keys, edited)  # another payload
    # a single create never shares an id with a one-line batch
    assert request_id_for("a", keys[:1], sent[:1]) != request_id_for(
        "a", keys[:1], sent[:1], operation="create"
    )


def test_marker_is_short_stable_and_survives_a_full_description():
    tag = payloads.marker("db:1")
    assert tag == payloads.marker("db:1") != payloads.marker("db:2")
    assert len(tag) == 16
    marked = payloads.with_marker({"Description": "x" * 4000}, "db:1")
    assert len(marked["Description"]) == 4000
    assert payloads.marker_in(marked["Description"]) == tag
    assert payloads.with_marker({}, "db:1")["Description"] == tag


def test_a_storage_failure_mid_run_still_answers_every_line(make_sandbox):
    def broken_storage(tokens):
        raise OSError("database connection lost")

    server = make_sandbox(time_scale=600)
    client = connect(server, persist=broken_storage, batch_size=10)
    sent, keys = lines(30)
    server.advance_clock(3601)  # the first batch gets a 401, the refresh cannot be persisted
    results = client.send_time_activities(sent, keys)
    assert [r.key for r in results] == keys
    assert {r.outcome for r in results} == {"failed"}
    assert all(r.fault.uncertain and r.fault.code == "OSError" for r in results)
    assert server.entities("TimeActivity") == []


def test_find_time_activities_identifies_sent_lines_by_marker_alone(make_sandbox):
    server = make_sandbox()
    client = connect(server)
    sent, keys = lines(4)
    results = client.send_time_activities(sent[:3], keys[:3])
    dates = {key: payload["TxnDate"] for key, payload in zip(keys, sent, strict=True)}
    found = client.find_time_activities(dates)
    # The fourth line was never sent; the mapping of the others may have changed since:
    # only the marker (from the line's key) decides.
    assert {key: stored["Id"] for key, stored in found.items()} == {
        r.key: r.qbo_id for r in results
    }
    assert client.find_time_activities({"db1:999": "2025-02-01"}) == {}


def created_per_minute(server):
    """Lines created in each QBO minute since the first one, by the server's own CreateTime."""
    stamps = sorted(
        datetime.fromisoformat(stored["MetaData"]["CreateTime"])
        for stored in server.entities("TimeActivity")
    )
    minutes = Counter(int((stamp - stamps[0]).total_seconds() // 60) for stamp in stamps)
    return [minutes[n] for n in range(max(minutes) + 1)]


def test_batches_and_single_creates_together_reach_the_combined_bound(make_sandbox):
    small = dict(requests_per_minute=60, batch_per_minute=4, concurrent=10)
    server = make_sandbox(limits=SandboxLimits(**small, batch_max_items=10), time_scale=60)
    limits = Limits(**small, headroom_per_minute=6)
    client = connect(server, limits=limits, batch_size=10)
    bound = lines_per_minute_bound(limits, 10)  # 4 x 10 + (60 - 4 - 6) = 90 a minute
    sent, keys = lines(2 * bound + 10)
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert server.stats()["throttled"] == 0
    assert_no_duplicates(server)
    # Each whole QBO minute of the run carries the minute's bound (batches alone: 40).
    whole_minutes = created_per_minute(server)[:2]
    assert min(whole_minutes) >= 0.9 * bound, f"{whole_minutes} lines a minute, bound {bound}"
    assert server.stats()["batch_requests"] == 9  # 4 a minute, the rest as single creates


def test_lines_not_sent_by_the_deadline_are_deferred_and_nothing_sent_is_lost(make_sandbox):
    small = dict(requests_per_minute=20, batch_per_minute=2, concurrent=10)
    server = make_sandbox(limits=SandboxLimits(**small, batch_max_items=10), time_scale=60)
    limits = Limits(**small, headroom_per_minute=4)  # a window: 2 batches + 14 single creates
    client = connect(server, limits=limits, batch_size=10)
    sent, keys = lines(50)
    started = time.monotonic()
    results = client.send_time_activities(sent, keys, attempt="run-1/1", deadline=started + 0.6)
    assert time.monotonic() - started < 0.9  # no wait ran past the deadline
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {"created": 34, "deferred": 16}
    deferred = [i for i, r in enumerate(results) if r.outcome == "deferred"]
    for i in deferred:
        assert results[i].qbo_id is None and results[i].fault.kind == "throttle"
        assert 0 < results[i].retry_after <= 1.0  # real seconds until the window has room
    assert len(server.entities("TimeActivity")) == 34
    time.sleep(max(results[i].retry_after for i in deferred))
    again = client.send_time_activities(
        [sent[i] for i in deferred], [keys[i] for i in deferred], reconcile_first=True
    )
    assert {r.outcome for r in again} == {"created"}
    assert len(server.entities("TimeActivity")) == 50
    assert_no_duplicates(server)


def test_a_line_edited_since_it_was_sent_is_reconciled_by_marker_and_flagged(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    sent, keys = lines(3)
    first = client.send_time_activities(sent, keys)
    edited = [dict(payload) for payload in sent]
    edited[1]["Minutes"] = 59
    edited[1]["CustomerRef"] = {"value": CUSTOMERS[7]}
    again = client.send_time_activities(edited, keys, reconcile_first=True)
    assert [r.outcome for r in again] == ["reconciled"] * 3
    assert [r.qbo_id for r in again] == [r.qbo_id for r in first]
    assert again[1].changed and set(again[1].changes) == {"duration", "customer"}
    assert not again[0].changed and not again[2].changed
    assert len(server.entities("TimeActivity")) == 3


def test_batches_refused_by_someone_elses_429_give_way_to_single_creates(make_sandbox):
    server = make_sandbox(time_scale=600)
    client = connect(server)
    # Another app uses up the realm-wide batch cap: every batch request gets a 429.
    server.fail_next(10_000, "429", path="/batch")
    sent, keys = lines(60)
    results = client.send_time_activities(sent, keys)
    assert {r.outcome for r in results} == {"created"}
    assert (
        server.stats()["created"] == 60
        and server.stats()["throttled"] + server.stats()["injected"] >= 1
    )
    with client.pacer.store.transaction() as (state, _now):
        assert state.batch_paused_until > state.paused_until  # batches held, not the realm
    assert_no_duplicates(server)
