"""Batch: up to 30 items, per-item results and faults, no promise of order."""

from qbo_sandbox import Limits

EMILY, AMY, INACTIVE_CUSTOMER = "13", "1", "12"


def _item(bid, **overrides):
    activity = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": EMILY},
        "CustomerRef": {"value": AMY},
        "TxnDate": "2025-03-04",
        "Hours": 1,
        "Description": f"line {bid}",
    }
    activity.update(overrides)
    return {"bId": bid, "operation": "create", "TimeActivity": activity}


def _batch(items):
    return {"BatchItemRequest": items}


def test_batch_answers_one_response_per_bid_with_partial_failure(api, fresh_sandbox):
    items = [_item(f"b{i}") for i in range(29)]
    items.append(_item("bad", CustomerRef={"value": INACTIVE_CUSTOMER}))
    answer = api.post("batch", _batch(items))
    assert answer.status_code == 200
    responses = answer.json()["BatchItemResponse"]
    assert sorted(r["bId"] for r in responses) == sorted(i["bId"] for i in items)
    bad = next(r for r in responses if r["bId"] == "bad")
    assert bad["Fault"]["Error"][0]["code"] == "610"
    assert bad["Fault"]["type"] == "ValidationFault"
    assert all("TimeActivity" in r for r in responses if r["bId"] != "bad")
    assert len(fresh_sandbox.entities("TimeActivity")) == 29


def test_batch_items_are_not_applied_in_request_order(api):
    items = [_item(f"b{i:02d}") for i in range(10)]
    responses = api.post("batch", _batch(items)).json()["BatchItemResponse"]
    ids_in_request_order = [
        int(next(r for r in responses if r["bId"] == item["bId"])["TimeActivity"]["Id"])
        for item in items
    ]
    assert ids_in_request_order != sorted(ids_in_request_order)


def test_more_than_30_items_is_refused_whole_with_1040(api, fresh_sandbox):
    answer = api.post("batch", _batch([_item(f"b{i}") for i in range(31)]))
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["code"] == "1040"
    assert fresh_sandbox.entities("TimeActivity") == []


def test_batch_size_limit_is_configurable(make_sandbox, api_for):
    api = api_for(make_sandbox(limits=Limits(batch_max_items=10)))
    assert api.post("batch", _batch([_item(f"b{i}") for i in range(11)])).status_code == 400
    assert api.post("batch", _batch([_item(f"b{i}") for i in range(10)])).status_code == 200


def test_batch_runs_queries_and_deletes(api, fresh_sandbox):
    created = api.post("batch", _batch([_item("one")])).json()["BatchItemResponse"][0][
        "TimeActivity"
    ]
    items = [
        {"bId": "q", "Query": "select * from Employee where DisplayName = 'Emily Platt'"},
        {
            "bId": "d",
            "operation": "delete",
            "TimeActivity": {"Id": created["Id"], "SyncToken": "0"},
        },
    ]
    responses = {r["bId"]: r for r in api.post("batch", _batch(items)).json()["BatchItemResponse"]}
    assert responses["q"]["QueryResponse"]["Employee"][0]["Id"] == EMILY
    assert responses["d"]["TimeActivity"]["status"] == "Deleted"
    assert fresh_sandbox.entities("TimeActivity") == []


def test_long_uuid_bids_are_accepted(api):
    bid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    answer = api.post("batch", _batch([_item(bid)]))
    assert answer.json()["BatchItemResponse"][0]["bId"] == bid
