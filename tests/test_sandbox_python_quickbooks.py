"""python-quickbooks 0.9.12, unchanged, against the sandbox (no network: a stand-in auth client)."""

import pytest
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.timeactivity import TimeActivity

from qbo_sandbox import Limits


class _AuthClient:
    """What python-quickbooks reads from intuit-oauth's AuthClient, without its network calls."""

    environment = "sandbox"

    def __init__(self, tokens, realm_id):
        self.client_id = "sandbox-test-client"
        self.client_secret = "secret"
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.realm_id = realm_id


@pytest.fixture
def make_client(monkeypatch):
    # The sandbox speaks plain http on loopback; oauthlib refuses that unless told.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

    def make(server):
        monkeypatch.setattr(QuickBooks, "api_url_v3", server.base_url + "/v3")
        monkeypatch.setattr(QuickBooks, "sandbox_api_url_v3", server.base_url + "/v3")
        auth = _AuthClient(server.issue_tokens(), server.realm_id)
        return QuickBooks(
            auth_client=auth,
            refresh_token=auth.refresh_token,
            company_id=server.realm_id,
            minorversion=75,
        )

    return make


def _activity(employee_id, customer_id, hours=1, description="Bird count"):
    activity = TimeActivity()
    activity.NameOf = "Employee"
    activity.EmployeeRef = Ref()
    activity.EmployeeRef.value = employee_id
    activity.CustomerRef = Ref()
    activity.CustomerRef.value = customer_id
    activity.TxnDate = "2025-03-04"
    activity.Hours = hours
    activity.Minutes = 0
    activity.Description = description
    return activity


def test_queries_customers(make_client, fresh_sandbox):
    qb = make_client(fresh_sandbox)
    customers = Customer.all(qb=qb)
    names = {c.DisplayName for c in customers}
    assert {"Amy's Bird Sanctuary", "Café Zoë", "A & W Landscaping"} <= names
    jobs = Customer.filter(Job=True, qb=qb)
    assert all(c.ParentRef.value for c in jobs) and len(jobs) == 3
    assert Customer.count(qb=qb) == len(customers)


def test_creates_a_time_activity(make_client, fresh_sandbox):
    qb = make_client(fresh_sandbox)
    saved = _activity("13", "1").save(qb=qb, request_id="odoo-line-1")
    assert saved.Id and saved.EmployeeRef.name == "Emily Platt"
    _activity("13", "1").save(qb=qb, request_id="odoo-line-1")  # replayed, not duplicated
    assert len(fresh_sandbox.entities("TimeActivity")) == 1


def test_validation_faults_become_library_exceptions(make_client, fresh_sandbox):
    qb = make_client(fresh_sandbox)
    with pytest.raises(QuickbooksException) as raised:
        _activity("13", "12").save(qb=qb)  # inactive customer
    assert raised.value.error_code == 610


def test_batch_of_30_with_one_bad_item(make_client, fresh_sandbox):
    qb = make_client(fresh_sandbox)
    activities = [_activity("13", "1", description=f"line {i}") for i in range(29)]
    activities.append(_activity("13", "12", description="inactive customer"))
    result = batch_create(activities, qb=qb)
    assert len(result.successes) == 29
    assert len(result.faults) == 1
    assert result.faults[0].Error[0].code == "610"
    assert result.faults[0].original_object.Description == "inactive customer"
    assert len(fresh_sandbox.entities("TimeActivity")) == 29


def test_is_throttled_past_the_limit(make_client, make_sandbox):
    server = make_sandbox(limits=Limits(requests_per_minute=3))
    qb = make_client(server)
    for _ in range(3):
        Customer.count(qb=qb)
    with pytest.raises(QuickbooksException) as raised:
        Customer.count(qb=qb)
    # The library cannot read the XML body: it reports 10000 and keeps the 429 only in text.
    assert raised.value.error_code == 10000
    assert "429" in raised.value.message
    assert server.stats()["throttled"] == 1
