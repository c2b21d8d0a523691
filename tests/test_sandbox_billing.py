"""Admin operations a QBO user performs: invoicing billable time, deleting time."""

import requests

EMILY, AMY, COOL_CARS, HOURS = "13", "1", "6", "22"


def _create(api, **overrides):
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": EMILY},
        "CustomerRef": {"value": AMY},
        "ItemRef": {"value": HOURS},
        "TxnDate": "2025-03-04",
        "BillableStatus": "Billable",
        "HourlyRate": 90,
        "Hours": 2,
        "Minutes": 30,
        "Description": "Nest box survey",
    }
    payload.update(overrides)
    answer = api.post("timeactivity", {k: v for k, v in payload.items() if v is not None})
    assert answer.status_code == 200, answer.text
    return answer.json()["TimeActivity"]


def _read(api, record_id):
    return api.get(f"timeactivity/{record_id}").json()["TimeActivity"]


def test_billing_links_billable_time_to_an_invoice(api, fresh_sandbox):
    by_hours = _create(api)
    by_clock = _create(
        api,
        Hours=None,
        Minutes=None,
        StartTime="09:00:00-08:00",
        EndTime="12:00:00-08:00",
        BreakMinutes=30,
    )
    fresh_sandbox.advance_clock(300)
    result = fresh_sandbox.bill_time_activities([by_hours["Id"], by_clock["Id"]])
    assert result["billed"] == [by_hours["Id"], by_clock["Id"]] and result["skipped"] == {}
    (invoice_id,) = result["invoices"]
    invoice = api.get(f"invoice/{invoice_id}").json()["Invoice"]
    assert invoice["CustomerRef"]["value"] == AMY
    lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    assert [line["LinkedTxn"] for line in lines] == [
        [{"TxnId": by_hours["Id"], "TxnType": "TimeActivity"}],
        [{"TxnId": by_clock["Id"], "TxnType": "TimeActivity"}],
    ]
    assert [line["SalesItemLineDetail"]["Qty"] for line in lines] == [2.5, 2.5]
    assert [line["Amount"] for line in lines] == [225.0, 225.0]
    assert invoice["TotalAmt"] == 450.0
    for before in (by_hours, by_clock):
        after = _read(api, before["Id"])
        assert (after["BillableStatus"], after["SyncToken"]) == ("HasBeenBilled", "1")
        assert after["MetaData"]["LastUpdatedTime"] > before["MetaData"]["LastUpdatedTime"]
    statement = "select * from TimeActivity where BillableStatus = 'HasBeenBilled'"
    assert len(api.query(statement).json()["QueryResponse"]["TimeActivity"]) == 2


def test_only_billable_time_is_billed_and_the_rest_is_reported(api, fresh_sandbox):
    billable = _create(api)
    internal = _create(api, BillableStatus="NotBillable", HourlyRate=None)
    gone = _create(api)
    fresh_sandbox.delete_time_activities([gone["Id"]])
    fresh_sandbox.bill_time_activities([billable["Id"]])
    result = fresh_sandbox.bill_time_activities(
        [billable["Id"], internal["Id"], gone["Id"], "99999"]
    )
    assert result == {
        "billed": [],
        "invoices": [],
        "skipped": {
            billable["Id"]: "already billed",
            internal["Id"]: "not billable",
            gone["Id"]: "deleted",
            "99999": "not found",
        },
    }
    assert _read(api, internal["Id"])["BillableStatus"] == "NotBillable"


def test_one_invoice_per_customer_over_http(api, fresh_sandbox):
    ids = [_create(api)["Id"], _create(api, CustomerRef={"value": COOL_CARS})["Id"]]
    answer = requests.post(fresh_sandbox.base_url + "/_sandbox/bill", json={"ids": ids}, timeout=5)
    result = answer.json()["result"]
    assert result["billed"] == ids and len(result["invoices"]) == 2
    customers = {
        api.get(f"invoice/{i}").json()["Invoice"]["CustomerRef"]["value"]
        for i in result["invoices"]
    }
    assert customers == {AMY, COOL_CARS}
    assert fresh_sandbox.stats()["invoices"] == 2


def test_billed_time_stays_billed_and_clients_cannot_claim_it(api, fresh_sandbox):
    created = _create(api)
    error = api.post("timeactivity", {**created, "BillableStatus": "HasBeenBilled"}).json()
    assert error["Fault"]["Error"][0]["code"] == "2170"
    fresh_sandbox.bill_time_activities([created["Id"]])
    stale = api.post("timeactivity", {**created, "Description": "edited"})
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    billed = _read(api, created["Id"])
    edited = api.post("timeactivity", {**billed, "BillableStatus": "Billable", "Hours": 3})
    assert edited.json()["TimeActivity"]["BillableStatus"] == "HasBeenBilled"


def test_delete_as_a_qbo_user(api, fresh_sandbox):
    kept, first, second = _create(api), _create(api), _create(api)
    assert fresh_sandbox.delete_time_activities([first["Id"]]) == {
        "deleted": [first["Id"]],
        "skipped": {},
    }
    answer = requests.post(
        fresh_sandbox.base_url + "/_sandbox/delete",
        json={"ids": [second["Id"], first["Id"], "99999"]},
        timeout=5,
    )
    assert answer.json()["result"] == {
        "deleted": [second["Id"]],
        "skipped": {first["Id"]: "deleted", "99999": "not found"},
    }
    assert [a["Id"] for a in fresh_sandbox.entities("TimeActivity")] == [kept["Id"]]
    detail = api.get(f"timeactivity/{second['Id']}").json()["Fault"]["Error"][0]["Detail"]
    assert detail == "Object Not Found : Another user has deleted this transaction."


def test_admin_ids_must_be_a_list(fresh_sandbox):
    answer = requests.post(fresh_sandbox.base_url + "/_sandbox/bill", json={"ids": "1"}, timeout=5)
    assert answer.status_code == 400
