"""Reading back exported TimeActivities (billed, deleted) in few reads; removing unbilled ones."""

from datetime import UTC, datetime, timedelta

import pytest
from qbo_support import connect

from noko_qbo.qbo import sync
from noko_qbo.qbo.payloads import build_time_activity

EMILY, AMY = "13", "1"  # an employee and a customer of the demo company


def billable(n=0):
    return build_time_activity(
        "2025-03-03",
        "Employee",
        EMILY,
        hours=1,
        minutes=n % 60,
        customer_id=AMY,
        billable=True,
        hourly_rate=90,
        description=f"line {n}",
    )


@pytest.fixture
def client(fresh_sandbox):
    return connect(fresh_sandbox)


def created(client, count):
    answers = client.send_time_activities(
        [billable(n) for n in range(count)], [f"k{n}" for n in range(count)]
    )
    assert {answer.outcome for answer in answers} == {"created"}
    return answers


def reads(client, call):
    before = client.stats["reads"]
    result = call()
    return result, client.stats["reads"] - before


def test_sending_tells_qbos_billable_status_of_each_line(client):
    answers = created(client, 2)
    assert [answer.billable_status for answer in answers] == ["Billable", "Billable"]
    again = client.send_time_activities(
        [billable(0), billable(1)], ["k0", "k1"], reconcile_first=True
    )
    assert [(a.outcome, a.billable_status) for a in again] == [("reconciled", "Billable")] * 2


def test_a_full_read_back_finds_billed_and_deleted_in_one_read_per_hundred(client, fresh_sandbox):
    ids = [answer.qbo_id for answer in created(client, 150)]
    fresh_sandbox.bill_time_activities(ids[:3])
    fresh_sandbox.delete_time_activities(ids[3:5])
    reading, count = reads(client, lambda: sync.read_back(client, ids))
    assert count == 2  # 150 ids: two Id IN statements, no GET per line
    assert reading.gone == set(ids[3:5])
    assert set(reading.found) == set(ids) - set(ids[3:5])
    billed = {i for i, row in reading.found.items() if row["BillableStatus"] == "HasBeenBilled"}
    assert billed == set(ids[:3])
    assert reading.newest is not None


def test_changed_since_spares_the_lookup_of_what_it_returned(client, fresh_sandbox):
    ids = [answer.qbo_id for answer in created(client, 5)]
    since = datetime.fromisoformat(
        max(row["MetaData"]["LastUpdatedTime"] for row in fresh_sandbox.entities("TimeActivity"))
    )
    fresh_sandbox.advance_clock(120)  # past the overlap: only the bill below is "changed since"
    fresh_sandbox.bill_time_activities(ids[:2])
    fresh_sandbox.delete_time_activities(ids[4:])
    reading = sync.read_back(client, ids, since=since)
    assert reading.gone == {ids[4]}
    assert {i for i, r in reading.found.items() if r["BillableStatus"] == "HasBeenBilled"} == set(
        ids[:2]
    )
    assert reading.newest > since


def test_a_webhook_read_back_looks_up_only_the_notified_bound_ids(client, fresh_sandbox):
    ids = [answer.qbo_id for answer in created(client, 3)]
    fresh_sandbox.delete_time_activities([ids[0]])
    reading, count = reads(client, lambda: sync.read_back(client, ids, check=[ids[0], "999"]))
    assert count == 1
    assert (reading.found, reading.gone) == ({}, {ids[0]})  # 999 is not ours: not asked


def test_nothing_to_check_costs_no_read(client):
    reading, count = reads(client, lambda: sync.read_back(client, []))
    assert (count, reading.found, reading.gone, reading.newest) == (0, {}, set(), None)


def test_remove_keeps_a_copy_the_caller_refuses_to_delete(client, fresh_sandbox):
    [answer] = created(client, 1)
    fresh_sandbox.bill_time_activities([answer.qbo_id])

    def billed(activity):
        return activity.get("BillableStatus") == "HasBeenBilled"

    kept = client.remove_time_activity(answer.qbo_id, keep=billed)
    assert billed(kept)
    assert [row["Id"] for row in fresh_sandbox.entities("TimeActivity")] == [answer.qbo_id]


def test_remove_with_the_callers_copy_skips_the_read_and_rereads_when_stale(client, fresh_sandbox):
    [first, second] = created(client, 2)
    copies = {
        row["Id"]: row for row in client.time_activities_by_ids([first.qbo_id, second.qbo_id])
    }
    copy_1, copy_2 = copies[first.qbo_id], copies[second.qbo_id]
    removed, count = reads(
        client, lambda: client.remove_time_activity(first.qbo_id, current=copy_1)
    )
    assert (removed["Id"], count) == (first.qbo_id, 0)
    # billed after the caller read it: its SyncToken moved, the delete is stale, the copy
    # read again is billed and kept
    fresh_sandbox.bill_time_activities([second.qbo_id])
    kept = client.remove_time_activity(
        second.qbo_id,
        current=copy_2,
        keep=lambda activity: activity.get("BillableStatus") == "HasBeenBilled",
    )
    assert kept["BillableStatus"] == "HasBeenBilled"
    assert [row["Id"] for row in fresh_sandbox.entities("TimeActivity")] == [second.qbo_id]


def test_overlap_is_applied_to_the_mark():
    calls = []

    class Recorder:
        stats = {"reads": 0}

        def time_activities_updated_since(self, since, deadline=None):
            calls.append(since)
            return type("Updated", (), {"rows": [], "newest": None})()

        def time_activities_by_ids(self, ids, deadline=None):
            return []

    mark = datetime(2026, 1, 1, tzinfo=UTC)
    sync.read_back(Recorder(), [], since=mark)
    assert calls == [mark - sync.OVERLAP]
    assert timedelta(seconds=1) <= sync.OVERLAP
