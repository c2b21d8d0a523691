"""requestid: a repeat gets the first answer and changes nothing."""

EMILY = "13"
ACTIVITY = {
    "NameOf": "Employee",
    "EmployeeRef": {"value": EMILY},
    "Hours": 1,
    "TxnDate": "2025-03-04",
}


def _batch(n):
    items = [{"bId": f"b{i}", "operation": "create", "TimeActivity": ACTIVITY} for i in range(n)]
    return {"BatchItemRequest": items}


def test_repeated_request_id_replays_the_first_answer(api, fresh_sandbox):
    first = api.post("timeactivity", ACTIVITY, params={"requestid": "line-42"})
    again = api.post("timeactivity", ACTIVITY, params={"requestid": "line-42"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(fresh_sandbox.entities("TimeActivity")) == 1
    assert fresh_sandbox.stats()["replayed"] == 1


def test_request_ids_are_per_realm(api, fresh_sandbox, api_for):
    other = api_for(fresh_sandbox, fresh_sandbox.seed({"Employee": [{"DisplayName": "Other"}]}))
    api.post("timeactivity", ACTIVITY, params={"requestid": "same"})
    payload = {**ACTIVITY, "EmployeeRef": {"value": "1"}}
    assert other.post("timeactivity", payload, params={"requestid": "same"}).status_code == 200
    assert len(fresh_sandbox.entities("TimeActivity", other.realm_id)) == 1


def test_batch_replay_applies_nothing_twice(api, fresh_sandbox):
    first = api.post("batch", _batch(3), params={"requestid": "run-7-chunk-1"})
    again = api.post("batch", _batch(3), params={"requestid": "run-7-chunk-1"})
    assert again.json() == first.json()
    assert len(fresh_sandbox.entities("TimeActivity")) == 3


def test_request_id_length_limits(api, fresh_sandbox):
    assert api.post("timeactivity", ACTIVITY, params={"requestid": "x" * 50}).status_code == 200
    too_long = api.post("timeactivity", ACTIVITY, params={"requestid": "x" * 51})
    assert too_long.status_code == 400
    assert api.post("batch", _batch(1), params={"requestid": "y" * 36}).status_code == 200
    assert api.post("batch", _batch(1), params={"requestid": "y" * 37}).status_code == 400
    assert len(fresh_sandbox.entities("TimeActivity")) == 2


def test_failed_attempt_is_not_remembered(api, fresh_sandbox):
    fresh_sandbox.fail_next(1, "503")
    assert api.post("timeactivity", ACTIVITY, params={"requestid": "retry-me"}).status_code == 503
    assert api.post("timeactivity", ACTIVITY, params={"requestid": "retry-me"}).status_code == 200
    assert len(fresh_sandbox.entities("TimeActivity")) == 1
