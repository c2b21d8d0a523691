"""Answer shapes checked against Intuit's published examples (keys, casing, value types).

Each test pins one shape a real QBO answer has, so the sandbox cannot drift
from it unnoticed: TimeActivity create/read/query/delete, batch items,
Fault bodies, OAuth answers, list entities and Preferences.
"""

import base64
import re

import requests

EMILY, AMY, SPRING_BIRD_COUNT, INACTIVE_CUSTOMER, HOURS = "13", "1", "2", "12", "22"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")  # MetaData, StartTime
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")  # the "time" field


def _activity(**overrides):
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": EMILY},
        "TxnDate": "2025-03-04",
        "Hours": 2,
        "Minutes": 30,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _create(api, **overrides):
    answer = api.post("timeactivity", _activity(**overrides))
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"TimeActivity", "time"} and TIME.match(body["time"])
    return body["TimeActivity"]


def _error(answer, status=400):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"Fault", "time"}
    assert set(body["Fault"]) == {"Error", "type"}
    return body["Fault"]["Error"][0]


# --- TimeActivity ---------------------------------------------------------------


def test_created_activity_has_qbo_value_types(api):
    created = _create(api, CustomerRef={"value": AMY})
    assert isinstance(created["Id"], str) and created["SyncToken"] == "0"
    assert (created["domain"], created["sparse"]) == ("QBO", False)
    assert type(created["Hours"]) is int and type(created["Minutes"]) is int
    assert created["Taxable"] is False and created["BillableStatus"] == "NotBillable"
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert all(STAMP.match(v) for v in created["MetaData"].values())
    assert created["TxnDate"] == "2025-03-04"
    for ref in ("EmployeeRef", "CustomerRef", "ItemRef"):
        assert set(created[ref]) == {"value", "name"}
        assert isinstance(created[ref]["value"], str)


def test_hourly_rate_is_always_answered_zero_when_not_given(api):
    # Intuit's NotBillable and StartTime/EndTime examples carry "HourlyRate": 0.
    created = _create(api)
    assert created["HourlyRate"] == 0
    read = api.get(f"timeactivity/{created['Id']}").json()["TimeActivity"]
    assert read["HourlyRate"] == 0
    billable = _create(api, CustomerRef={"value": AMY}, BillableStatus="Billable", HourlyRate=92.5)
    assert billable["HourlyRate"] == 92.5


def test_ref_names_are_the_display_name_not_the_full_name(api):
    # A job's ref reads {"value": "8", "name": "0969 Ocean View Road"} in Intuit's examples.
    created = _create(api, CustomerRef={"value": SPRING_BIRD_COUNT})
    assert created["CustomerRef"] == {"value": SPRING_BIRD_COUNT, "name": "Spring Bird Count"}
    assert created["ItemRef"] == {"value": HOURS, "name": "Hours"}


def test_time_of_day_start_and_end_land_on_txn_date_in_company_time(api):
    # Intuit's create example sends "08:00:00-08:00" and answers a full timestamp.
    created = _create(
        api,
        Hours=None,
        Minutes=None,
        TxnDate="2025-07-28",
        StartTime="08:00:00-08:00",
        EndTime="17:00:00-08:00",
    )
    assert created["StartTime"] == "2025-07-28T09:00:00-07:00"
    assert created["EndTime"] == "2025-07-28T18:00:00-07:00"
    assert "Hours" not in created and "Minutes" not in created
    assert created["HourlyRate"] == 0


def test_full_start_and_end_timestamps_are_answered_in_company_time(api):
    created = _create(
        api,
        Hours=None,
        Minutes=None,
        TxnDate="2025-01-15",
        StartTime="2025-01-15T17:00:00Z",
        EndTime="2025-01-15T18:30:00",
    )
    assert created["StartTime"] == "2025-01-15T09:00:00-08:00"
    assert created["EndTime"] == "2025-01-15T18:30:00-08:00"


def test_hours_and_minutes_stay_integers(api):
    created = _create(api, Hours=1.75, Minutes="15")
    assert (created["Hours"], created["Minutes"]) == (1, 15)
    error = _error(api.post("timeactivity", _activity(Hours="two")))
    assert (error["code"], error["element"]) == ("2010", "Hours")


def test_query_answer_shape(api):
    _create(api)
    body = api.query("select * from TimeActivity").json()
    assert set(body) == {"QueryResponse", "time"}
    answer = body["QueryResponse"]
    assert set(answer) == {"TimeActivity", "startPosition", "maxResults"}
    assert (answer["startPosition"], answer["maxResults"]) == (1, 1)
    count = api.query("select count(*) from TimeActivity").json()["QueryResponse"]
    assert count == {"totalCount": 1}
    empty = api.query("select * from TimeActivity where TxnDate > '2999-01-01'").json()
    assert empty["QueryResponse"] == {}


def test_delete_answer_shape(api):
    created = _create(api)
    answer = api.post(
        "timeactivity", {"Id": created["Id"], "SyncToken": "0"}, params={"operation": "delete"}
    )
    assert answer.status_code == 200
    assert answer.json()["TimeActivity"] == {
        "status": "Deleted",
        "domain": "QBO",
        "Id": created["Id"],
    }


# --- faults -------------------------------------------------------------------------


def test_validation_errors_always_carry_element(api):
    created = _create(api)
    stale = api.post(
        "timeactivity", {"Id": created["Id"], "SyncToken": "9"}, params={"operation": "delete"}
    )
    error = _error(stale)
    assert set(error) == {"Message", "Detail", "code", "element"}
    assert (error["code"], error["element"]) == ("5010", "")
    missing = _error(api.get("timeactivity/99999"))
    assert (missing["code"], missing["element"]) == ("610", "")
    inactive = _error(api.post("timeactivity", _activity(CustomerRef={"value": INACTIVE_CUSTOMER})))
    assert (inactive["code"], inactive["element"]) == ("610", "CustomerRef")


def test_query_errors_have_no_element(api):
    error = _error(api.query("selec * from Customer"))
    assert set(error) == {"Message", "Detail", "code"} and error["code"] == "4000"


def test_batch_items_hold_the_entity_or_a_fault_with_element(api):
    items = [
        {"bId": "ok", "operation": "create", "TimeActivity": _activity()},
        {
            "bId": "bad",
            "operation": "create",
            "TimeActivity": _activity(CustomerRef={"value": INACTIVE_CUSTOMER}),
        },
        {"bId": "q", "Query": "select * from Class where Name = 'nothing'"},
    ]
    body = api.post("batch", {"BatchItemRequest": items}).json()
    assert set(body) == {"BatchItemResponse", "time"}
    by_bid = {item["bId"]: item for item in body["BatchItemResponse"]}
    assert set(by_bid["ok"]) == {"bId", "TimeActivity"}
    assert by_bid["ok"]["TimeActivity"]["HourlyRate"] == 0
    assert set(by_bid["bad"]) == {"bId", "Fault"}
    error = by_bid["bad"]["Fault"]["Error"][0]
    assert set(error) == {"Message", "Detail", "code", "element"}
    assert by_bid["q"] == {"bId": "q", "QueryResponse": {}}


def test_throttle_answer_is_qbo_xml(api, fresh_sandbox):
    fresh_sandbox.fail_next(1, mode="429")
    answer = api.get("preferences")
    assert answer.status_code == 429
    assert answer.headers["Content-Type"].startswith("application/xml")
    assert '<Error code="3001">' in answer.text
    assert "<Detail>The request limit was reached.  Try again later</Detail>" in answer.text


def test_expired_token_gets_the_lowercase_gateway_fault(api, fresh_sandbox):
    fresh_sandbox.advance_clock(3601)
    answer = api.get("preferences")
    assert answer.status_code == 401
    body = answer.json()
    assert "Fault" not in body and isinstance(body["time"], int)
    error = body["fault"]["error"][0]
    assert set(error) == {"message", "detail", "code", "element"}
    assert (error["code"], error["element"], body["fault"]["type"]) == (
        "3200",
        None,
        "AUTHENTICATION",
    )
    assert error["detail"].startswith("Token expired")


# --- OAuth ---------------------------------------------------------------------------


def test_discovery_document_fields(fresh_sandbox):
    doc = requests.get(
        fresh_sandbox.base_url + "/.well-known/openid_sandbox_configuration", timeout=5
    ).json()
    # Intuit's keys, plus the one the sandbox adds: its clock speed (see server.discovery)
    assert doc.pop("time_scale") == 1.0
    assert set(doc) == {
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "revocation_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "scopes_supported",
        "token_endpoint_auth_methods_supported",
        "claims_supported",
    }
    assert doc["scopes_supported"] == ["openid", "email", "profile", "address", "phone"]
    assert "realmid" in doc["claims_supported"]


def test_token_answer_fields_and_bare_error_bodies(fresh_sandbox):
    tokens = fresh_sandbox.issue_tokens()
    assert tokens["token_type"] == "bearer"
    assert type(tokens["expires_in"]) is int and type(tokens["x_refresh_token_expires_in"]) is int
    basic = "Basic " + base64.b64encode(b"app:secret").decode()
    url = fresh_sandbox.base_url + "/oauth2/v1/tokens/bearer"
    authorize = requests.get(
        fresh_sandbox.base_url + "/connect/oauth2",
        params={
            "client_id": "app",
            "redirect_uri": "https://app.example/cb",
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "s",
        },
        allow_redirects=False,
        timeout=5,
    )
    code = re.search(r"code=([^&]+)", authorize.headers["Location"]).group(1)
    mismatch = requests.post(
        url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://elsewhere.example/cb",
        },
        headers={"Authorization": basic, "Accept": "application/json"},
        timeout=5,
    )
    assert (mismatch.status_code, mismatch.json()) == (400, {"error": "invalid_grant"})
    unknown = requests.post(
        url,
        data={"grant_type": "refresh_token", "refresh_token": "nope"},
        headers={"Authorization": basic, "Accept": "application/json"},
        timeout=5,
    )
    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_grant"})


# --- lists, Preferences, CompanyInfo ---------------------------------------------------


def test_list_entities_carry_the_fields_the_addon_reads(api):
    job = api.get(f"customer/{SPRING_BIRD_COUNT}").json()["Customer"]
    assert job["Job"] is True and job["ParentRef"] == {"value": AMY}
    assert job["FullyQualifiedName"] == "Amy's Bird Sanctuary:Spring Bird Count"
    assert job["DisplayName"] == "Spring Bird Count" and job["Active"] is True
    employee = api.get(f"employee/{EMILY}").json()["Employee"]
    assert employee["BillableTime"] is True and employee["BillRate"] == 95
    item = api.get(f"item/{HOURS}").json()["Item"]
    assert (item["Type"], item["UnitPrice"], item["FullyQualifiedName"]) == ("Service", 90, "Hours")
    for record in (job, employee, item):
        assert STAMP.match(record["MetaData"]["LastUpdatedTime"])
        assert isinstance(record["Id"], str) and isinstance(record["SyncToken"], str)


def test_preferences_carry_time_tracking_in_other_prefs_and_time_tracking_prefs(api, fresh_sandbox):
    prefs = api.get("preferences").json()["Preferences"]
    pairs = {p["Name"]: p["Value"] for p in prefs["OtherPrefs"]["NameValue"]}
    assert pairs["TimeTrackingFeatureEnabled"] == "true"  # a string, as QBO sends it
    assert set(prefs["TimeTrackingPrefs"]) >= {
        "UseServices",
        "BillCustomers",
        "ShowBillRateToAll",
        "WorkWeekStartDate",
        "MarkTimeEntriesBillable",
    }
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    fresh_sandbox.set_time_tracking(False)
    prefs = api.get("preferences").json()["Preferences"]
    pairs = {p["Name"]: p["Value"] for p in prefs["OtherPrefs"]["NameValue"]}
    assert pairs["TimeTrackingFeatureEnabled"] == "false"


def test_company_info_shape(api, fresh_sandbox):
    info = api.get(f"companyinfo/{fresh_sandbox.realm_id}").json()["CompanyInfo"]
    assert (info["Id"], info["domain"], info["sparse"]) == ("1", "QBO", False)
    assert {"CompanyName", "LegalName", "CompanyAddr", "Country", "NameValue"} <= set(info)
    assert all(set(p) == {"Name", "Value"} for p in info["NameValue"])
