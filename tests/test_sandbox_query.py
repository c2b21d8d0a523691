"""The query language over the demo company, and the read-only company endpoints."""

from datetime import datetime, timedelta, timezone

import pytest


def _rows(answer, entity):
    assert answer.status_code == 200, answer.text
    return answer.json()["QueryResponse"].get(entity, [])


def _names(answer, entity="Customer"):
    return [r.get("DisplayName") or r.get("Name") for r in _rows(answer, entity)]


def _error(answer):
    return answer.json()["Fault"]["Error"][0]


def test_select_all_answers_like_qbo(api):
    body = api.query("SELECT * FROM Customer").json()
    response = body["QueryResponse"]
    assert response["startPosition"] == 1
    assert response["maxResults"] == len(response["Customer"])
    assert "time" in body
    amy = next(c for c in response["Customer"] if c["DisplayName"] == "Amy's Bird Sanctuary")
    assert isinstance(amy["Id"], str) and isinstance(amy["SyncToken"], str)
    assert set(amy["MetaData"]) == {"CreateTime", "LastUpdatedTime"}


def test_inactive_rows_are_hidden_unless_asked_for(api):
    hidden = _names(api.query("select * from Customer"))
    everything = _names(api.query("select * from Customer where Active IN (true, false)"))
    only_inactive = _names(api.query("select * from Customer where Active = false"))
    assert "Old Harbor Brewing (closed)" not in hidden
    assert "Old Harbor Brewing (closed)" in everything
    assert only_inactive == ["Old Harbor Brewing (closed)"]
    assert len(everything) == len(hidden) + 1


def test_sub_customers_carry_job_parent_and_full_name(api):
    rows = _rows(api.query("select * from Customer where Job = true"), "Customer")
    menu = next(r for r in rows if r["DisplayName"] == "Menu Redesign")
    cafe = _rows(api.query("select * from Customer where DisplayName = 'Café Zoë'"), "Customer")[0]
    assert menu["FullyQualifiedName"] == "Café Zoë:Menu Redesign"
    assert menu["ParentRef"]["value"] == cafe["Id"]
    assert menu["Job"] is True and cafe["Job"] is False


def test_equality_in_and_like_with_case_insensitive_values(api):
    assert _names(api.query("SELECT * FROM Customer WHERE DisplayName = 'cool cars'")) == [
        "Cool Cars"
    ]
    names = _names(
        api.query("select * from Customer where DisplayName in ('Cool Cars', 'Kookies by Kathy')")
    )
    assert sorted(names) == ["Cool Cars", "Kookies by Kathy"]
    assert _names(api.query("select * from Customer where DisplayName like 'kook%'")) == [
        "Kookies by Kathy"
    ]


def test_fully_qualified_name_matches_jobs(api):
    job = "Amy\\'s Bird Sanctuary:Spring Bird Count"
    statement = f"select * from Customer where FullyQualifiedName = '{job}'"
    assert _names(api.query(statement)) == ["Spring Bird Count"]


def test_escaped_quote_in_value(api):
    assert _names(api.query("select * from Customer where DisplayName = 'Jeff\\'s Jalopies'")) == [
        "Jeff's Jalopies"
    ]


def test_keywords_are_case_insensitive(api):
    names = _names(
        api.query("sElEcT * fRoM customer wHeRe displayname LiKe 'a%' oRdErBy DisplayName")
    )
    assert names == ["A & W Landscaping", "Amy's Bird Sanctuary"]


def test_and_combines_conditions(api):
    statement = "select * from Customer where Job = true and DisplayName like 'S%'"
    assert sorted(_names(api.query(statement))) == ["Spring Bird Count", "Storefront Signage"]


def test_orderby_desc_and_paging(api):
    every = _names(api.query("select * from Employee orderby DisplayName desc"), "Employee")
    assert every == sorted(every, reverse=True)
    page = _names(
        api.query("select * from Employee orderby DisplayName desc startposition 2 maxresults 3"),
        "Employee",
    )
    assert page == every[1:4]
    body = api.query("select * from Employee startposition 5 maxresults 3").json()["QueryResponse"]
    assert body["startPosition"] == 5 and body["maxResults"] == 2


def test_order_by_with_a_space_as_python_quickbooks_sends_it(api):
    names = _names(api.query("SELECT * FROM Item ORDER BY Name MAXRESULTS 100"), "Item")
    assert names == ["Consulting", "Design", "Hours"]


def test_count_answers_total_count(api):
    body = api.query("SELECT COUNT(*) FROM Employee").json()
    assert body["QueryResponse"] == {"totalCount": 6}


def test_empty_result_has_no_entity_key(api):
    body = api.query("select * from Vendor where DisplayName = 'Nobody'").json()
    assert body["QueryResponse"] == {}


def test_max_results_above_1000_is_refused(api):
    answer = api.query("select * from Customer maxresults 1001")
    assert answer.status_code == 400
    assert _error(answer)["code"] == "4001"
    assert api.query("select * from Customer maxresults 1000").status_code == 200


@pytest.mark.parametrize(
    "statement",
    [
        "select * from Customer where DisplayName = 'Amy's Bird Sanctuary'",
        "select * from Customer where DisplayName = 'Cool Cars' or Active = true",
        "select from Customer",
        "select * from Nonsense",
        "delete from Customer",
    ],
)
def test_parse_errors_answer_4000(api, statement):
    answer = api.query(statement)
    assert answer.status_code == 400
    assert _error(answer)["code"] == "4000"
    assert answer.json()["Fault"]["type"] == "ValidationFault"


def test_post_query_with_application_text(api):
    answer = api.session.post(
        api.url("query"),
        params={"minorversion": 75},
        data="select * from Class",
        headers={"Content-Type": "application/text"},
        timeout=5,
    )
    assert sorted(_names(answer, "Class")) == ["Consulting Services", "Design Services"]


def test_minorversion_is_optional_and_any_value_is_accepted(api):
    url = api.url("query")
    for params in (
        {"query": "select * from Class"},
        {"query": "select * from Class", "minorversion": 4},
    ):
        assert api.session.get(url, params=params, timeout=5).status_code == 200


def _create(api, date, description):
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": "13"},
        "Hours": 1,
        "TxnDate": date,
        "Description": description,
    }
    answer = api.post("timeactivity", payload)
    assert answer.status_code == 200, answer.text
    return answer.json()["TimeActivity"]


def test_date_ranges_on_txn_date(api):
    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        _create(api, day, day)
    statement = (
        "select * from TimeActivity where TxnDate >= '2025-03-02' and TxnDate < '2025-03-03'"
    )
    assert [r["TxnDate"] for r in _rows(api.query(statement), "TimeActivity")] == ["2025-03-02"]
    statement = "select * from TimeActivity where TxnDate <= '2025-03-02'"
    assert len(_rows(api.query(statement), "TimeActivity")) == 2


def test_incremental_sync_on_last_updated_time(api, fresh_sandbox):
    old = _create(api, "2025-03-01", "old")
    fresh_sandbox.advance_clock(600)
    new = _create(api, "2025-03-01", "new")
    since = old["MetaData"]["LastUpdatedTime"]
    statement = f"select * from TimeActivity where MetaData.LastUpdatedTime > '{since}'"
    assert [r["Id"] for r in _rows(api.query(statement), "TimeActivity")] == [new["Id"]]


def _ids(answer):
    return [r["Id"] for r in _rows(answer, "TimeActivity")]


def _in_zone(stamp, offset_hours, pattern):
    moment = datetime.fromisoformat(stamp).astimezone(timezone(timedelta(hours=offset_hours)))
    return moment.strftime(pattern)


def test_last_updated_time_compares_instants_in_any_zone_and_format(api, fresh_sandbox):
    old = _create(api, "2025-03-01", "old")
    fresh_sandbox.advance_clock(600)
    new = _create(api, "2025-03-01", "new")
    since = old["MetaData"]["LastUpdatedTime"]  # e.g. 2025-03-01T09:15:02-08:00
    utc = _in_zone(since, 0, "%Y-%m-%dT%H:%M:%SZ")
    compact = _in_zone(since, -7, "%Y-%m-%dT%H:%M:%S%z")  # -0700, as legacy webhooks write it
    millis = _in_zone(new["MetaData"]["LastUpdatedTime"], 0, "%Y-%m-%dT%H:%M:%S.000Z")
    field = "select * from TimeActivity where MetaData.LastUpdatedTime"
    assert _ids(api.query(f"{field} > '{utc}'")) == [new["Id"]]
    assert _ids(api.query(f"{field} >= '{compact}'")) == [old["Id"], new["Id"]]
    assert _ids(api.query(f"{field} < '{millis}'")) == [old["Id"]]
    assert _ids(api.query(f"{field} = '{utc}'")) == [old["Id"]]


def test_id_in_combined_with_and_and_paged(api, fresh_sandbox):
    created = [_create(api, "2025-03-01", f"line {i}") for i in range(5)]
    fresh_sandbox.advance_clock(60)
    _create(api, "2025-03-01", "later")
    wanted = ", ".join(f"'{a['Id']}'" for a in created[:4])
    since = created[0]["MetaData"]["LastUpdatedTime"]
    statement = (
        f"select * from TimeActivity where Id in ({wanted}) and MetaData.LastUpdatedTime "
        f">= '{since}' orderby Id startposition 2 maxresults 2"
    )
    body = api.query(statement).json()["QueryResponse"]
    assert [r["Id"] for r in body["TimeActivity"]] == [a["Id"] for a in created[1:3]]
    assert (body["startPosition"], body["maxResults"]) == (2, 2)
    numbers = ", ".join(a["Id"] for a in created[3:])
    assert _ids(api.query(f"select * from TimeActivity where Id in ({numbers})")) == [
        a["Id"] for a in created[3:]
    ]
    assert _rows(api.query("select * from TimeActivity where Id in ('99999')"), "x") == []


def test_refs_compare_on_their_value(api):
    _create(api, "2025-03-01", "mine")
    statement = "select * from TimeActivity where EmployeeRef = '13'"
    assert len(_rows(api.query(statement), "TimeActivity")) == 1
    assert (
        _rows(api.query("select * from TimeActivity where EmployeeRef = '14'"), "TimeActivity")
        == []
    )


def test_company_info(api, fresh_sandbox):
    body = api.get(f"companyinfo/{fresh_sandbox.realm_id}").json()
    assert body["CompanyInfo"]["CompanyName"] == "Larkspur Design Studio"
    assert body["CompanyInfo"]["Id"] == "1"


def test_preferences_report_time_tracking_and_class_tracking(api, fresh_sandbox):
    prefs = api.get("preferences").json()["Preferences"]
    pairs = {p["Name"]: p["Value"] for p in prefs["OtherPrefs"]["NameValue"]}
    assert pairs["TimeTrackingFeatureEnabled"] == "true"
    assert prefs["AccountingInfoPrefs"]["ClassTrackingPerTxn"] is True
    assert prefs["AccountingInfoPrefs"]["TrackDepartments"] is False
    fresh_sandbox.set_time_tracking(False)
    prefs = api.get("preferences").json()["Preferences"]
    pairs = {p["Name"]: p["Value"] for p in prefs["OtherPrefs"]["NameValue"]}
    assert pairs["TimeTrackingFeatureEnabled"] == "false"


def test_closed_books_show_in_preferences(api, fresh_sandbox):
    fresh_sandbox.set_closed_books("2024-12-31")
    prefs = api.get("preferences").json()["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2024-12-31"
