"""QuickBooks Projects: sub-customers with IsProject, as CustomerRef or ProjectRef of time."""

EMILY, AMY, SPRING_BIRD_COUNT, FREEMAN, STOREFRONT_SIGNAGE = "13", "1", "2", "8", "9"


def _activity(**overrides):
    payload = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": EMILY},
        "TxnDate": "2025-03-04",
        "Hours": 1,
    }
    payload.update(overrides)
    return payload


def _created(answer):
    assert answer.status_code == 200, answer.text
    return answer.json()["TimeActivity"]


def _error(answer):
    assert answer.status_code == 400, answer.text
    return answer.json()["Fault"]["Error"][0]


def test_the_demo_company_has_a_project_under_a_customer(api):
    statement = "select * from Customer where IsProject = true"
    projects = api.query(statement).json()["QueryResponse"]["Customer"]
    assert [p["Id"] for p in projects] == [STOREFRONT_SIGNAGE]
    project = projects[0]
    assert (project["Job"], project["IsProject"]) == (True, True)
    assert project["ParentRef"] == {"value": FREEMAN}
    assert project["FullyQualifiedName"] == "Freeman Sporting Goods:Storefront Signage"
    prefs = api.get("preferences").json()["Preferences"]
    pairs = {p["Name"]: p["Value"] for p in prefs["OtherPrefs"]["NameValue"]}
    assert pairs["ProjectsEnabled"] == "true"


def test_time_on_a_project_as_customer_ref(api):
    created = _created(
        api.post("timeactivity", _activity(CustomerRef={"value": STOREFRONT_SIGNAGE}))
    )
    assert created["CustomerRef"] == {"value": STOREFRONT_SIGNAGE, "name": "Storefront Signage"}
    assert "ProjectRef" not in created


def test_project_ref_alone_files_the_time_under_the_project(api):
    created = _created(
        api.post("timeactivity", _activity(ProjectRef={"value": STOREFRONT_SIGNAGE}))
    )
    ref = {"value": STOREFRONT_SIGNAGE, "name": "Storefront Signage"}
    assert (created["CustomerRef"], created["ProjectRef"]) == (ref, ref)


def test_project_ref_with_its_parent_customer(api):
    payload = _activity(
        CustomerRef={"value": FREEMAN},
        ProjectRef={"value": STOREFRONT_SIGNAGE},
        BillableStatus="Billable",
        HourlyRate=95,
    )
    created = _created(api.post("timeactivity", payload))
    assert created["CustomerRef"]["value"] == FREEMAN
    assert created["ProjectRef"]["value"] == STOREFRONT_SIGNAGE


def test_project_ref_must_be_a_project_of_that_customer(api, fresh_sandbox):
    not_a_project = _error(
        api.post("timeactivity", _activity(ProjectRef={"value": SPRING_BIRD_COUNT}))
    )
    assert (not_a_project["code"], not_a_project["element"]) == ("2500", "ProjectRef")
    elsewhere = _activity(CustomerRef={"value": AMY}, ProjectRef={"value": STOREFRONT_SIGNAGE})
    wrong_customer = _error(api.post("timeactivity", elsewhere))
    assert (wrong_customer["code"], wrong_customer["element"]) == ("6000", "ProjectRef")
    assert fresh_sandbox.entities("TimeActivity") == []


def test_companies_without_projects_refuse_project_refs(make_sandbox, api_for):
    server = make_sandbox(
        company={
            "Preferences": {"ProjectsEnabled": False},
            "Customer": [
                {"DisplayName": "Client"},
                {"DisplayName": "Launch", "Parent": "Client", "IsProject": True},
            ],
            "Employee": [{"DisplayName": "Solo Worker"}],
        }
    )
    api = api_for(server)
    payload = {"NameOf": "Employee", "EmployeeRef": {"value": "3"}, "Hours": 1}
    assert _error(api.post("timeactivity", {**payload, "ProjectRef": {"value": "2"}}))["code"] == (
        "2500"
    )
