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


def test_the_same_request_with_a_new_request_id_is_a_new_request(api, fresh_sandbox):
    first = api.post("timeactivity", ACTIVITY, params={"requestid": "line-42-try-1"}).json()
    again = api.post("timeactivity", ACTIVITY, params={"requestid": "line-42-try-2"}).json()
    assert first["TimeActivity"]["Id"] != again["TimeActivity"]["Id"]
    assert len(fresh_sandbox.entities("TimeActivity")) == 2
    assert "replayed" not in fresh_sandbox.stats()


def test_a_request_id_replays_whatever_the_repeat_sends_or_which_app_sends_it(api, fresh_sandbox):
    first = api.post("timeactivity", ACTIVITY, params={"requestid": "once"})
    other_app = fresh_sandbox.issue_tokens(client_id="another-app")["access_token"]
    different = {**ACTIVITY, "Hours": 7}
    again = api.session.post(
        api.url("timeactivity"),
        params={"requestid": "once"},
        json=different,
        headers={"Authorization": "Bearer " + other_app},
        timeout=5,
    )
    assert again.json() == first.json()
    assert [a["Hours"] for a in fresh_sandbox.entities("TimeActivity")] == [1]


def test_a_refused_request_may_be_fixed_and_sent_again_with_its_request_id(api, fresh_sandbox):
    refused = api.post("timeactivity", {**ACTIVITY, "Hours": -1}, params={"requestid": "fix-me"})
    assert refused.status_code == 400
    assert api.post("timeactivity", ACTIVITY, params={"requestid": "fix-me"}).status_code == 200
    assert len(fresh_sandbox.entities("TimeActivity")) == 1


def test_with_a_request_id_batch_ids_have_at_most_10_characters(api, fresh_sandbox):
    items = [{"bId": "0123456789a", "operation": "create", "TimeActivity": ACTIVITY}]
    answer = api.post("batch", {"BatchItemRequest": items}, params={"requestid": "chunk-1"})
    assert answer.status_code == 400
    assert answer.json()["Fault"]["Error"][0]["element"] == "bId"
    assert api.post("batch", {"BatchItemRequest": items}).status_code == 200  # no requestid
    assert len(fresh_sandbox.entities("TimeActivity")) == 1
