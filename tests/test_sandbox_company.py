"""Seeding, inspection, reset and the command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from qbo_sandbox import SandboxServer
from qbo_sandbox.faults import QboError

ROOT = Path(__file__).resolve().parent.parent


def test_demo_company_is_a_small_realistic_company(fresh_sandbox):
    company = fresh_sandbox.company()
    customers = {c["Name"]: c for c in company["Customer"]}
    assert {"Amy's Bird Sanctuary", "A & W Landscaping", "Café Zoë"} <= set(customers)
    jobs = [name for name in customers if ":" in name]
    assert 2 <= len(jobs) <= 3
    assert [n for n, c in customers.items() if not c["Active"]] == ["Old Harbor Brewing (closed)"]
    assert len(company["Employee"]) == 6 and len(company["Vendor"]) == 3
    assert {i["Name"] for i in company["Item"]} == {"Hours", "Design", "Consulting", "Gardening"}
    assert [i["Name"] for i in company["Item"] if not i["Active"]] == ["Gardening"]
    assert len(company["Class"]) == 2
    assert company["CompanyName"] == "Larkspur Design Studio"


def test_seed_adds_a_realm_from_a_dict(fresh_sandbox):
    realm_id = fresh_sandbox.seed(
        {
            "CompanyInfo": {"CompanyName": "Second Co"},
            "Customer": [{"DisplayName": "Parent"}, {"DisplayName": "Child", "Parent": "Parent"}],
            "Employee": [{"GivenName": "Ana", "FamilyName": "Diaz"}],
        }
    )
    assert realm_id.isdigit() and realm_id != fresh_sandbox.realm_id
    company = fresh_sandbox.company(realm_id)
    assert [c["Name"] for c in company["Customer"]] == ["Parent", "Parent:Child"]
    assert company["Employee"][0]["Name"] == "Ana Diaz"


def test_seed_over_http_and_company_from_a_file(fresh_sandbox, tmp_path):
    answer = requests.post(
        fresh_sandbox.base_url + "/_sandbox/seed",
        json={"Vendor": [{"DisplayName": "Solo"}]},
        timeout=5,
    )
    realm_id = answer.json()["result"]
    assert fresh_sandbox.company(realm_id)["Vendor"][0]["Name"] == "Solo"
    path = tmp_path / "company.json"
    path.write_text(json.dumps({"realm_id": "9341000000000077", "Class": [{"Name": "Only"}]}))
    with SandboxServer(company=str(path)) as server:
        assert server.realm_id == "9341000000000077"
        assert server.company()["Class"][0]["Name"] == "Only"


@pytest.mark.parametrize("clash", [("Customer", "Employee"), ("Employee", "Vendor")])
def test_display_names_are_unique_across_customers_employees_and_vendors(fresh_sandbox, clash):
    first, second = clash
    with pytest.raises(QboError) as raised:
        fresh_sandbox.seed(
            {first: [{"DisplayName": "Sam Stone"}], second: [{"DisplayName": "sam stone"}]}
        )
    assert raised.value.code == "6240"


def test_reset_restores_the_starting_company(api, fresh_sandbox):
    payload = {"NameOf": "Employee", "EmployeeRef": {"value": "13"}, "Hours": 1}
    assert api.post("timeactivity", payload).status_code == 200
    fresh_sandbox.set_time_tracking(False)
    extra = fresh_sandbox.seed({})
    fresh_sandbox.reset()
    assert fresh_sandbox.entities("TimeActivity") == []
    assert fresh_sandbox.realms[fresh_sandbox.realm_id].time_tracking
    assert extra not in fresh_sandbox.realms
    assert api.get("preferences").status_code == 401  # tokens are gone too


def test_cli_prints_base_url_and_realm_then_serves(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "qbo_sandbox", "--port", "0", "--time-scale", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        second = process.stdout.readline()
        base_url = first.split()[-1]
        assert base_url.startswith("http://127.0.0.1:")
        assert second.strip() == "realm id: 9341453050071234"
        discovery = requests.get(base_url + "/.well-known/openid_configuration", timeout=5).json()
        assert discovery["token_endpoint"] == base_url + "/oauth2/v1/tokens/bearer"
    finally:
        process.terminate()
        process.wait(5)
