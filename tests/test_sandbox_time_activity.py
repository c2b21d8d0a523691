"""TimeActivity create, read, delete and the validation QBO applies to them."""

import pytest

EMILY, AMY, INACTIVE_CUSTOMER, HOURS, INACTIVE_ITEM, DESIGN_CLASS = (
    "13",
    "1",
    "12",
    "22",
    "25",
    "26",
)
BESSIE = "19"


def _activity(**overrides):
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": EMILY},
        "CustomerRef": {"value": AMY},
        "ItemRef": {"value": HOURS},
        "TxnDate": "2025-03-04",
        "Hours": 2,
        "Minutes": 30,
        "Description": "Bird count planning",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _fault(answer):
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["Fault"]["type"] == "ValidationFault"
    assert "time" in body
    return body["Fault"]["Error"][0]


def test_demo_ids_used_here_are_the_expected_records(fresh_sandbox):
    company = fresh_sandbox.company()
    names = {
        e["Id"]: e["Name"]
        for entity in ("Customer", "Employee", "Item", "Class", "Vendor")
        for e in company[entity]
    }
    assert names[EMILY] == "Emily Platt"
    assert names[AMY] == "Amy's Bird Sanctuary"
    assert names[INACTIVE_CUSTOMER] == "Old Harbor Brewing (closed)"
    assert names[HOURS] == "Hours"
    assert names[INACTIVE_ITEM] == "Gardening"
    assert names[DESIGN_CLASS] == "Design Services"
    assert names[BESSIE] == "Books by Bessie"


def test_create_answers_the_stored_activity(api, fresh_sandbox):
    answer = api.post("timeactivity", _activity(ClassRef={"value": DESIGN_CLASS}))
    assert answer.status_code == 200, answer.text
    created = answer.json()["TimeActivity"]
    assert created["Id"] and created["SyncToken"] == "0"
    assert created["EmployeeRef"] == {"value": EMILY, "name": "Emily Platt"}
    assert created["CustomerRef"] == {"value": AMY, "name": "Amy's Bird Sanctuary"}
    assert created["ClassRef"] == {"value": DESIGN_CLASS, "name": "Design Services"}
    assert created["BillableStatus"] == "NotBillable"
    assert (created["Hours"], created["Minutes"]) == (2, 30)
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert fresh_sandbox.entities("TimeActivity") == [created]


def test_read_by_id(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    answer = api.get(f"timeactivity/{created['Id']}")
    assert answer.json()["TimeActivity"] == created
    assert _fault(api.get("timeactivity/99999"))["code"] == "610"


def test_vendor_time_needs_vendor_ref(api):
    payload = _activity(NameOf="Vendor", EmployeeRef=None, VendorRef={"value": BESSIE})
    assert api.post("timeactivity", payload).json()["TimeActivity"]["VendorRef"]["value"] == BESSIE
    error = _fault(api.post("timeactivity", _activity(NameOf="Vendor")))
    assert (error["code"], error["element"]) == ("2020", "VendorRef")


def test_item_defaults_to_the_company_service_item(api):
    created = api.post("timeactivity", _activity(ItemRef=None)).json()["TimeActivity"]
    assert created["ItemRef"]["name"] == "Hours"


def test_txn_date_defaults_to_server_date(api, fresh_sandbox):
    created = api.post("timeactivity", _activity(TxnDate=None)).json()["TimeActivity"]
    assert created["TxnDate"] == fresh_sandbox.clock.today().isoformat()


def test_billable_with_customer_and_rate(api):
    payload = _activity(BillableStatus="Billable", HourlyRate=95)
    created = api.post("timeactivity", payload).json()["TimeActivity"]
    assert (created["BillableStatus"], created["HourlyRate"]) == ("Billable", 95)


def test_start_and_end_time_instead_of_hours(api):
    payload = _activity(
        Hours=None,
        Minutes=None,
        StartTime="2025-03-04T09:00:00-08:00",
        EndTime="2025-03-04T12:00:00-08:00",
        BreakMinutes=15,
    )
    created = api.post("timeactivity", payload).json()["TimeActivity"]
    assert created["StartTime"] == "2025-03-04T09:00:00-08:00"
    assert "Hours" not in created


@pytest.mark.parametrize(
    ("overrides", "code", "element"),
    [
        ({"NameOf": None}, "2020", "NameOf"),
        ({"NameOf": "Contractor"}, "2170", "NameOf"),
        ({"EmployeeRef": None}, "2020", "EmployeeRef"),
        ({"EmployeeRef": {"value": "9999"}}, "2500", "EmployeeRef"),
        ({"CustomerRef": {"value": INACTIVE_CUSTOMER}}, "610", "CustomerRef"),
        ({"ItemRef": {"value": INACTIVE_ITEM}}, "610", "ItemRef"),
        ({"CustomerRef": {"value": "9999"}}, "2500", "CustomerRef"),
        ({"BillableStatus": "Billable"}, "2020", "HourlyRate"),
        (
            {"BillableStatus": "Billable", "HourlyRate": 90, "CustomerRef": None},
            "2020",
            "CustomerRef",
        ),
        ({"BillableStatus": "HasBeenBilled"}, "2170", "BillableStatus"),
        ({"BillableStatus": "Sometimes"}, "2170", "BillableStatus"),
        ({"Description": "x" * 4001}, "2050", "Description"),
        ({"Hours": 8761, "Minutes": 0}, "2050", "Hours"),
        ({"Hours": -1}, "2050", "Hours"),
        ({"Minutes": 60}, "2050", "Minutes"),
        (
            {"StartTime": "2025-03-04T09:00:00-08:00", "EndTime": "2025-03-04T10:00:00-08:00"},
            "6000",
            "StartTime",
        ),
        ({"Hours": None, "Minutes": None}, "2020", "Hours"),
    ],
)
def test_validation_faults(api, fresh_sandbox, overrides, code, element):
    error = _fault(api.post("timeactivity", _activity(**overrides)))
    assert (error["code"], error["element"]) == (code, element)
    assert error["Message"] and error["Detail"]
    assert fresh_sandbox.entities("TimeActivity") == []


def test_description_of_exactly_4000_chars_and_8760_hours_pass(api):
    payload = _activity(Description="x" * 4000, Hours=8760, Minutes=0)
    assert api.post("timeactivity", payload).status_code == 200


def test_closed_books_reject_older_dates_with_6210(api, fresh_sandbox):
    fresh_sandbox.set_closed_books("2025-03-04")
    assert _fault(api.post("timeactivity", _activity(TxnDate="2025-03-04")))["code"] == "6210"
    assert api.post("timeactivity", _activity(TxnDate="2025-03-05")).status_code == 200
    fresh_sandbox.set_closed_books(None)
    assert api.post("timeactivity", _activity(TxnDate="2025-03-04")).status_code == 200


def test_time_tracking_off_rejects_activities(api, fresh_sandbox):
    fresh_sandbox.set_time_tracking(False)
    assert _fault(api.post("timeactivity", _activity()))["code"] == "6000"


def test_class_ref_is_dropped_when_class_tracking_is_off(make_sandbox, api_for):
    server = make_sandbox(
        company={
            "Preferences": {"ClassTrackingPerTxn": False},
            "Employee": [{"DisplayName": "Solo Worker"}],
            "Class": [{"Name": "Unused"}],
        }
    )
    api = api_for(server)
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": "1"},
        "ClassRef": {"value": "2"},
        "Hours": 1,
    }
    created = api.post("timeactivity", payload).json()["TimeActivity"]
    assert "ClassRef" not in created


def test_delete_needs_the_current_sync_token(api, fresh_sandbox):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    stale = api.post(
        "timeactivity", {"Id": created["Id"], "SyncToken": "7"}, params={"operation": "delete"}
    )
    assert _fault(stale)["code"] == "5010"
    answer = api.post(
        "timeactivity", {"Id": created["Id"], "SyncToken": "0"}, params={"operation": "delete"}
    )
    assert answer.json()["TimeActivity"] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": created["Id"],
    }
    assert fresh_sandbox.entities("TimeActivity") == []


def test_update_bumps_sync_token_and_rejects_stale_ones(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    changed = api.post("timeactivity", {**created, "Hours": 4}).json()["TimeActivity"]
    assert (changed["Hours"], changed["SyncToken"]) == (4, "1")
    assert _fault(api.post("timeactivity", {**created, "Hours": 5}))["code"] == "5010"


def _delete(api, activity):
    payload = {"Id": activity["Id"], "SyncToken": activity["SyncToken"]}
    return api.post("timeactivity", payload, params={"operation": "delete"})


def test_a_deleted_activity_is_gone_and_says_so(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    assert _delete(api, created).status_code == 200
    for answer in (
        api.get(f"timeactivity/{created['Id']}"),
        api.post("timeactivity", {**created, "Hours": 3}),
        _delete(api, created),
    ):
        error = _fault(answer)
        assert (error["code"], error["Message"]) == ("610", "Object Not Found")
        assert error["Detail"] == "Object Not Found : Another user has deleted this transaction."
    statement = f"select * from TimeActivity where Id = '{created['Id']}'"
    assert api.query(statement).json()["QueryResponse"] == {}
    assert api.query("select count(*) from TimeActivity").json()["QueryResponse"] == {
        "totalCount": 0
    }


def test_full_update_clears_the_fields_it_omits(api):
    created = api.post("timeactivity", _activity(ClassRef={"value": DESIGN_CLASS})).json()[
        "TimeActivity"
    ]
    full = {k: v for k, v in created.items() if k not in ("Description", "ClassRef")}
    changed = api.post("timeactivity", {**full, "Hours": 3}).json()["TimeActivity"]
    assert (changed["Hours"], changed["SyncToken"]) == (3, "1")
    assert "Description" not in changed and "ClassRef" not in changed


def test_sparse_update_changes_only_what_it_sends(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    sparse = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Description": "Revised"}
    changed = api.post("timeactivity", sparse).json()["TimeActivity"]
    assert changed["Description"] == "Revised"
    assert (changed["Hours"], changed["Minutes"], changed["SyncToken"]) == (2, 30, "1")
    assert changed["CustomerRef"] == created["CustomerRef"]
    assert changed["sparse"] is False


def test_sparse_update_may_switch_from_hours_to_start_and_end(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    sparse = {
        "Id": created["Id"],
        "SyncToken": "0",
        "sparse": True,
        "StartTime": "09:00:00-08:00",
        "EndTime": "10:30:00-08:00",
    }
    changed = api.post("timeactivity", sparse).json()["TimeActivity"]
    assert changed["EndTime"] == "2025-03-04T10:30:00-08:00"
    assert "Hours" not in changed and "Minutes" not in changed


def test_every_update_bumps_sync_token_and_last_updated_time(api, fresh_sandbox):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    fresh_sandbox.advance_clock(120)
    first = api.post("timeactivity", {**created, "Hours": 3}).json()["TimeActivity"]
    fresh_sandbox.advance_clock(120)
    second = api.post("timeactivity", {**first, "Hours": 3}).json()["TimeActivity"]
    assert [a["SyncToken"] for a in (created, first, second)] == ["0", "1", "2"]
    stamps = [a["MetaData"]["LastUpdatedTime"] for a in (created, first, second)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert second["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]
    stale = _fault(api.post("timeactivity", {**first, "Hours": 4}))
    assert (stale["code"], stale["Message"]) == ("5010", "Stale Object Error")
    assert fresh_sandbox.entities("TimeActivity") == [second]
    assert fresh_sandbox.stats()["updated"] == 2


def test_update_through_operation_update_and_in_a_batch(api):
    created = api.post("timeactivity", _activity()).json()["TimeActivity"]
    changed = api.post(
        "timeactivity", {**created, "Hours": 5}, params={"operation": "update"}
    ).json()["TimeActivity"]
    item = {"bId": "u1", "operation": "update", "TimeActivity": {**changed, "Hours": 6}}
    answer = api.post("batch", {"BatchItemRequest": [item]}).json()["BatchItemResponse"][0]
    assert (answer["TimeActivity"]["Hours"], answer["TimeActivity"]["SyncToken"]) == (6, "2")


def test_closed_books_freeze_older_activities(api, fresh_sandbox):
    created = api.post("timeactivity", _activity(TxnDate="2025-03-04")).json()["TimeActivity"]
    fresh_sandbox.set_closed_books("2025-03-31")
    moved = {**created, "TxnDate": "2025-04-02"}
    assert _fault(api.post("timeactivity", moved))["code"] == "6210"
    assert _fault(_delete(api, created))["code"] == "6210"
