"""QboClient against the sandbox (or a scripted QBO): reads, escaping, writes, batches, faults."""

from datetime import UTC, datetime, timedelta

import pytest
from qbo_support import FakeClock, Reply, connect, fault_body, scripted_client

from noko_qbo.qbo import query
from noko_qbo.qbo.errors import Deferred, QboFault
from noko_qbo.qbo.payloads import build_time_activity
from noko_qbo.qbo.retry import RetryPolicy

EMILY, JOHN = "13", "14"  # employees of the demo company
AMY, A_AND_W, CAFE, CLOSED = "1", "3", "4", "12"  # customers (12 is inactive)


def activity(customer=AMY, employee=EMILY, hours=1, minutes=30, **kwargs):
    return build_time_activity(
        "2025-03-03",
        "Employee",
        employee,
        hours=hours,
        minutes=minutes,
        customer_id=customer,
        **kwargs,
    )


@pytest.fixture
def client(fresh_sandbox):
    return connect(fresh_sandbox)


def test_company_info_preferences_and_time_tracking(client, fresh_sandbox):
    assert client.company_info()["CompanyName"] == "Larkspur Design Studio"
    preferences = client.preferences()
    assert client.time_tracking_enabled(preferences) is True
    fresh_sandbox.set_time_tracking(False)
    assert client.time_tracking_enabled() is False


@pytest.mark.parametrize(
    "name", ["Amy's Bird Sanctuary", "A & W Landscaping", "Café Zoë", "Jeff's Jalopies"]
)
def test_names_with_apostrophes_ampersands_and_accents_are_found(client, name):
    rows = client.query(query.select("Customer", query.condition("DisplayName", name)))
    assert [row["DisplayName"] for row in rows] == [name]


def test_backslash_and_quote_escaping():
    assert query.quote("Amy's") == "'Amy\\'s'"
    assert query.quote("back\\slash") == "'back\\\\slash'"
    assert query.quote("a\\'b") == "'a\\\\\\'b'"
    assert query.quote("Café Zoë") == "'Café Zoë'"
    assert query.condition("Active", True) == "Active = true"
    assert query.condition("Id", ["1", "2"]) == "Id IN ('1', '2')"


def test_a_name_ending_in_a_backslash_cannot_break_out_of_the_literal(client):
    rows = client.query(query.select("Customer", query.condition("DisplayName", "x\\' OR Id > '0")))
    assert rows == []


def test_a_query_that_matches_nothing_is_an_empty_list(client):
    assert client.query(query.select("Customer", query.condition("DisplayName", "Nobody"))) == []
    assert len(client.query_all("Customer", query.condition("Active", True))) == 11


def test_query_parse_error_is_a_validation_fault_not_retried(client):
    with pytest.raises(QboFault) as caught:
        client.query("SELECT * FROM Customer WHERE DisplayName = 'unterminated")
    assert (caught.value.kind, caught.value.code) == ("validation", "4000")
    assert client.stats["retried"] == 0


def test_inactive_records_need_active_in(client):
    where = query.condition("Id", CLOSED)
    assert client.query_all("Customer", where) == []
    rows = client.query_all("Customer", f"{where} AND Active IN (true, false)")
    assert [row["Id"] for row in rows] == [CLOSED]


def test_single_create_with_requestid_replays_instead_of_duplicating(client, fresh_sandbox):
    payload = activity(description="Design review")
    first = client.create_time_activity(payload, "req-1")
    again = client.create_time_activity(payload, "req-1")
    assert first["Id"] == again["Id"]
    assert len(fresh_sandbox.entities("TimeActivity")) == 1
    assert first["Description"] == "Design review"
    with pytest.raises(ValueError):
        client.create_time_activity(payload, "x" * 51)


def test_single_create_faults_are_qbo_faults_with_their_http_status(client):
    with pytest.raises(QboFault) as caught:
        client.create_time_activity(activity(customer=CLOSED), "req-2")
    assert caught.value.kind == "not_found" and caught.value.status == 400


def test_closed_books_reject_older_dates(client, fresh_sandbox):
    fresh_sandbox.set_closed_books("2025-03-31")
    with pytest.raises(QboFault) as caught:
        client.create_time_activity(activity(), "req-3")
    assert (caught.value.kind, caught.value.code) == ("validation", "6210")


def test_delete_needs_the_current_sync_token(client, fresh_sandbox):
    created = client.create_time_activity(activity(), "req-4")
    with pytest.raises(QboFault) as caught:
        client.delete_time_activity(created["Id"], "7")
    assert caught.value.kind == "stale"
    client.delete_time_activity(created["Id"], created["SyncToken"])
    assert fresh_sandbox.entities("TimeActivity") == []


def test_batch_with_mixed_faults_answers_each_item(client, fresh_sandbox):
    items = [
        ("a", activity()),
        ("b", activity(customer=CLOSED)),  # inactive customer: 610
        ("c", activity(customer="999")),  # unknown customer: 2500
        ("d", {**activity(), "BillableStatus": "HasBeenBilled"}),  # read-only status: 2170
        ("e", activity(customer=CAFE, employee=JOHN)),
    ]
    answers = client.batch_create(items, request_id="batch-mixed-1")
    assert answers[0]["Id"] and answers[4]["Id"]
    assert [a.kind for a in answers[1:4]] == ["not_found", "validation", "validation"]
    assert [a.code for a in answers[1:4]] == ["610", "2500", "2170"]
    assert len(fresh_sandbox.entities("TimeActivity")) == 2
    with pytest.raises(ValueError):
        client.batch_create([activity()] * 31)


@pytest.mark.parametrize("mode", ["503", "502", "500", "reset"])
def test_injected_server_failures_on_reads_are_retried(client, fresh_sandbox, mode):
    fresh_sandbox.fail_next(2, mode, path="companyinfo")
    assert client.company_info()["CompanyName"]
    assert client.stats["retried"] == 2


def test_a_timeout_is_retried_after_the_read_timeout(make_sandbox):
    server = make_sandbox()
    client = connect(server, timeout=(1, 0.3))
    server.fail_next(1, "timeout", path="preferences")
    assert client.preferences()
    assert client.stats["retried"] == 1


def test_server_failures_are_retried_a_bounded_number_of_times(client, fresh_sandbox):
    fresh_sandbox.fail_next(10, "503", path="companyinfo")
    with pytest.raises(QboFault) as caught:
        client.company_info()
    assert caught.value.kind == "server"
    assert client.stats["requests"] == client.retry.server_attempts


def test_a_429_is_waited_out_and_retried(make_sandbox):
    server = make_sandbox(time_scale=600)  # Intuit's minute lasts 0.1 s here
    client = connect(server)
    server.fail_next(2, "429", path="query")
    assert client.query(query.select("Item")) != []
    assert client.stats["throttled"] == 2


def test_throttle_that_never_ends_raises_a_throttle_fault(make_sandbox):
    server = make_sandbox(time_scale=6000)
    client = connect(server, retry=RetryPolicy(throttle_attempts=3, time_scale=6000))
    server.fail_next(5, "429", path="query")
    with pytest.raises(QboFault) as caught:
        client.query(query.select("Item"))
    assert caught.value.kind == "throttle" and caught.value.retry_after == 60
    assert client.stats["requests"] == 3


def test_clients_of_one_realm_share_one_pacer(fresh_sandbox, make_sandbox):
    first, second = (connect(fresh_sandbox, shared_pacer=True) for _ in range(2))
    assert first.pacer is second.pacer
    other = connect(make_sandbox(), shared_pacer=True)
    assert other.pacer is not first.pacer  # another server, another realm


def test_batch_size_is_configurable_down_to_ten(fresh_sandbox):
    assert connect(fresh_sandbox, batch_size=10).batch_size == 10
    for size in (9, 31):
        with pytest.raises(ValueError):
            connect(fresh_sandbox, batch_size=size)


def test_every_read_is_counted_and_writes_are_not(client):
    client.company_info()
    client.query_all("Item")
    created = client.create_time_activity(activity(), "req-reads")
    client.get_time_activity(created["Id"])
    assert client.stats["reads"] == 3
    assert client.stats["requests"] == 4


def test_get_time_activity_is_none_once_it_is_gone(client):
    created = client.create_time_activity(activity(), "req-get")
    assert client.get_time_activity(created["Id"])["Id"] == created["Id"]
    client.delete_time_activity(created["Id"], created["SyncToken"])
    assert client.get_time_activity(created["Id"]) is None


def test_time_activities_by_ids_returns_those_that_exist_in_short_statements(client):
    made = [client.create_time_activity(activity(minutes=m), f"req-ids-{m}") for m in (5, 10, 15)]
    wanted = [a["Id"] for a in made] + [str(n) for n in range(5000, 5150)]
    reads = client.stats["reads"]
    found = client.time_activities_by_ids(wanted)
    assert sorted(a["Id"] for a in found) == sorted(a["Id"] for a in made)
    assert client.stats["reads"] - reads == 2  # 153 ids: two statements of at most 100


def test_time_activities_updated_since_pages_and_gives_the_newest_time(client, fresh_sandbox):
    old = client.create_time_activity(activity(minutes=5), "req-old")
    since = datetime.fromisoformat(old["MetaData"]["LastUpdatedTime"])
    fresh_sandbox.advance_clock(120)
    new = client.create_time_activity(activity(minutes=10), "req-new")
    rows, newest = client.time_activities_updated_since(since)
    assert [row["Id"] for row in rows] == [new["Id"]]
    assert newest == datetime.fromisoformat(new["MetaData"]["LastUpdatedTime"])
    # a naive datetime is UTC; nothing changed after the newest one
    naive = newest.astimezone(UTC).replace(tzinfo=None)
    assert client.time_activities_updated_since(naive) == ([], None)
    assert len(client.time_activities_updated_since(since - timedelta(days=1)).rows) == 2


def test_time_activities_between_two_dates_included(client):
    for day, request_id in (("2025-03-02", "a"), ("2025-03-03", "b"), ("2025-03-05", "c")):
        client.create_time_activity({**activity(), "TxnDate": day}, f"req-between-{request_id}")
    rows = client.time_activities_between("2025-03-03", datetime(2025, 3, 5))
    assert sorted(row["TxnDate"] for row in rows) == ["2025-03-03", "2025-03-05"]


def test_remove_time_activity_reads_the_sync_token_then_deletes(client, fresh_sandbox):
    created = client.create_time_activity(activity(), "req-remove")
    removed = client.remove_time_activity(created["Id"])
    assert removed["Id"] == created["Id"]
    assert fresh_sandbox.entities("TimeActivity") == []
    assert client.remove_time_activity(created["Id"]) is None  # already gone counts as removed


def scripted_activity(sync_token):
    return {"TimeActivity": {"Id": "42", "SyncToken": sync_token, "TxnDate": "2025-03-03"}}


def test_remove_with_a_stale_sync_token_reads_again_and_retries_once():
    tokens = iter(["0", "1", "2"])

    def qbo(method, route, params, body):
        if method == "GET":
            return Reply(200, scripted_activity(next(tokens)))
        if body["SyncToken"] == "0":  # someone edited it between our read and our delete
            return Reply(400, fault_body(5010, "Stale Object Error"))
        return Reply(200, {"TimeActivity": {"Id": "42", "status": "Deleted"}})

    client, session, _clock = scripted_client(qbo)
    assert client.remove_time_activity("42")["SyncToken"] == "1"
    deletes = [call for call in session.calls if call[0] == "POST"]
    assert [body["SyncToken"] for _m, _r, _p, body in deletes] == ["0", "1"]
    assert all(params["operation"] == "delete" for _m, _r, params, _b in deletes)


def test_remove_gives_up_after_a_second_stale_sync_token():
    def qbo(method, route, params, body):
        if method == "GET":
            return Reply(200, scripted_activity("0"))
        return Reply(400, fault_body(5010, "Stale Object Error"))

    client, session, _clock = scripted_client(qbo)
    with pytest.raises(QboFault) as caught:
        client.remove_time_activity("42")
    assert caught.value.kind == "stale"
    assert len(session.calls) == 4


def test_remove_when_the_delete_finds_nothing_counts_as_removed():
    def qbo(method, route, params, body):
        if method == "GET":
            return Reply(200, scripted_activity("3"))
        return Reply(400, fault_body(610, "Object Not Found"))

    client, _session, _clock = scripted_client(qbo)
    assert client.remove_time_activity("42") is None


def test_a_throttled_read_with_a_deadline_is_deferred_without_sleeping_past_it():
    def qbo(method, route, params, body):
        return Reply(429, "", headers={"Retry-After": "30"})

    client, session, clock = scripted_client(qbo)
    start = clock.now
    with pytest.raises(Deferred) as caught:
        client.query("SELECT * FROM Item", deadline=start + 10)
    assert clock.now <= start + 10
    assert len(session.calls) == 1
    assert caught.value.retry_after == pytest.approx(30.0)
    assert client.stats["throttled"] == 1


def test_a_server_backoff_past_the_deadline_is_deferred():
    def qbo(method, route, params, body):
        return Reply(503, "<html><title>503 Service Unavailable</title></html>")

    clock = FakeClock()
    retry = RetryPolicy(base_delay=8.0, sleep=clock.sleep, clock=clock)
    client, session, _clock = scripted_client(qbo, clock=clock, retry=retry)
    with pytest.raises(Deferred) as caught:
        client.query("SELECT * FROM Item", deadline=clock.now + 3)
    assert len(session.calls) == 1
    assert caught.value.kind == "server"
    assert clock.slept == []


def test_single_creates_and_deletes_go_through_our_transport():
    def qbo(method, route, params, body):
        return Reply(200, {"TimeActivity": {"Id": "7", "SyncToken": "0"}})

    client, session, _clock = scripted_client(qbo)
    client.create_time_activity(activity(), "req-transport")
    client.delete_time_activity("7", "0")
    assert [
        (route, params.get("requestid"), params.get("operation"))
        for _m, route, params, _b in session.calls
    ] == [
        ("timeactivity", "req-transport", None),
        ("timeactivity", None, "delete"),
    ]
    assert all(params["minorversion"] == 75 for _m, _r, params, _b in session.calls)
    assert client.stats["requests"] == 2
