"""QboClient against the sandbox: reads, escaping, single writes, batches, injected failures."""

import pytest
from qbo_support import connect

from noko_qbo.qbo import query
from noko_qbo.qbo.errors import QboFault
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
    rows = client.query(query.select("Customer", query.where(DisplayName=name)))
    assert [row["DisplayName"] for row in rows] == [name]


def test_backslash_and_quote_escaping():
    assert query.quote("Amy's") == "'Amy\\'s'"
    assert query.quote("back\\slash") == "'back\\\\slash'"
    assert query.quote("a\\'b") == "'a\\\\\\'b'"
    assert query.quote("Café Zoë") == "'Café Zoë'"
    assert query.where(Active=True, Id=["1", "2"]) == "Active = true AND Id IN ('1', '2')"


def test_a_name_ending_in_a_backslash_cannot_break_out_of_the_literal(client):
    rows = client.query(query.select("Customer", query.where(DisplayName="x\\' OR Id > '0")))
    assert rows == []


def test_a_query_that_matches_nothing_is_an_empty_list(client):
    assert client.query(query.select("Customer", query.where(DisplayName="Nobody"))) == []
    assert client.count("Customer", query.where(Active=True)) == 11


def test_query_parse_error_is_a_validation_fault_not_retried(client):
    with pytest.raises(QboFault) as caught:
        client.query("SELECT * FROM Customer WHERE DisplayName = 'unterminated")
    assert (caught.value.kind, caught.value.code) == ("validation", "4000")
    assert client.stats["retried"] == 0


def test_inactive_records_need_active_in(client):
    where = query.where(Id=CLOSED)
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


def test_single_create_faults_come_through_python_quickbooks_as_qbo_faults(client):
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
    first, second = connect(fresh_sandbox), connect(fresh_sandbox)
    assert first.pacer is second.pacer
    assert connect(make_sandbox()).pacer is not first.pacer  # another server, another realm


def test_batch_size_is_configurable_down_to_ten(fresh_sandbox):
    assert connect(fresh_sandbox, batch_size=10).batch_size == 10
    for size in (9, 31):
        with pytest.raises(ValueError):
            connect(fresh_sandbox, batch_size=size)
