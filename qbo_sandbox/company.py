"""Seeding: turn a company description (JSON) into a Realm shaped like a QBO company."""

import json
import secrets
from pathlib import Path

from . import faults
from .entities import LIST_ENTITIES, MAX_JOB_LEVELS, Realm

DEMO_COMPANY = Path(__file__).parent / "companies" / "demo.json"
USD = {"value": "USD", "name": "United States Dollar"}


def load(company):
    """A company dict from a path, a dict, or None for the shipped demo company."""
    if company is None:
        company = DEMO_COMPANY
    if isinstance(company, dict):
        return json.loads(json.dumps(company))  # private copy, JSON-clean
    return json.loads(Path(company).read_text(encoding="utf-8"))


def new_realm_id():
    # Sandbox realm ids are 16 digits starting with 9341.
    return "9341" + "".join(str(secrets.randbelow(10)) for _ in range(12))


def build_realm(data, clock, realm_id=None):
    realm = Realm(str(realm_id or data.get("realm_id") or new_realm_id()), clock)
    realm.company_info = _company_info(realm, data.get("CompanyInfo", {}))
    realm.preferences = _preferences(realm, data.get("Preferences", {}))
    for entity in LIST_ENTITIES:
        for entry in data.get(entity, []):
            _add(realm, entity, dict(entry))
    return realm


def describe(realm):
    """What a realm holds, by entity: Id, name and Active, for people and scripts."""
    with realm.lock:
        out = {"realm_id": realm.realm_id, "CompanyName": realm.company_info.get("CompanyName")}
        for entity in LIST_ENTITIES:
            out[entity] = [
                {
                    "Id": r["Id"],
                    "Name": r.get("FullyQualifiedName") or r.get("DisplayName") or r.get("Name"),
                    "Active": r.get("Active", True),
                }
                for r in realm.records[entity].values()
            ]
        out["TimeActivity"] = len(realm.records["TimeActivity"])
        out["Invoice"] = len(realm.records["Invoice"])
        return out


def _base(realm, entry):
    record_id = str(entry.pop("Id", "") or realm.new_id())
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": record_id,
        "SyncToken": "0",
        "MetaData": realm.metadata(),
    }


def _add(realm, entity, entry):
    builder = {
        "Customer": _customer,
        "Employee": _employee,
        "Vendor": _vendor,
        "Item": _item,
        "Class": _class,
    }[entity]
    return realm.add_list_entry(entity, builder(realm, entry))


def _person_name(entry):
    given, family = entry.get("GivenName", ""), entry.get("FamilyName", "")
    name = (
        entry.get("DisplayName")
        or " ".join(p for p in (given, family) if p)
        or entry.get("CompanyName")
    )
    if not name:
        raise faults.required("DisplayName")
    return name


def _customer(realm, entry):
    parent_name = entry.pop("Parent", None)
    name = _person_name(entry)
    record = {
        "Taxable": False,
        "Job": False,
        "BillWithParent": False,
        "Balance": 0,
        "BalanceWithJobs": 0,
        "CurrencyRef": USD,
        "PreferredDeliveryMethod": "Print",
        "IsProject": False,
        **entry,
    }
    record.update(_base(realm, entry))
    record.update(
        DisplayName=name,
        PrintOnCheckName=entry.get("PrintOnCheckName", name),
        Active=entry.get("Active", True),
        FullyQualifiedName=name,
    )
    if parent_name:
        parent = realm.find_by_name("Customer", parent_name)
        if parent is None:
            raise faults.invalid_reference("ParentRef", "Customer", parent_name)
        level = parent.get("Level", 0) + 1
        if level > MAX_JOB_LEVELS:
            raise faults.business("Sub-customers can be nested at most 5 levels deep.", "ParentRef")
        record.update(
            Job=True,
            ParentRef={"value": parent["Id"]},
            Level=level,
            FullyQualifiedName=f"{parent['FullyQualifiedName']}:{name}",
        )
    return record


def _employee(realm, entry):
    return _person(realm, entry, {"BillableTime": False})


def _vendor(realm, entry):
    return _person(realm, entry, {"Balance": 0, "Vendor1099": False, "CurrencyRef": USD})


def _person(realm, entry, defaults):
    """An Employee or Vendor: QBO names both from their parts and prints that on checks."""
    name = _person_name(entry)
    record = {**defaults, **entry}
    record.update(_base(realm, entry))
    record.update(
        DisplayName=name,
        PrintOnCheckName=entry.get("PrintOnCheckName", name),
        Active=entry.get("Active", True),
    )
    return record


def _item(realm, entry):
    if not entry.get("Name"):
        raise faults.required("Name")
    record = {
        "Taxable": False,
        "UnitPrice": 0,
        "Type": "Service",
        "PurchaseCost": 0,
        "TrackQtyOnHand": False,
        "IncomeAccountRef": {"value": "1", "name": "Services"},
        **entry,
    }
    record.update(_base(realm, entry))
    record.update(FullyQualifiedName=entry["Name"], Active=entry.get("Active", True))
    return record


def _class(realm, entry):
    if not entry.get("Name"):
        raise faults.required("Name")
    record = {"SubClass": False, **entry}
    record.update(_base(realm, entry))
    record.update(FullyQualifiedName=entry["Name"], Active=entry.get("Active", True))
    return record


def _company_info(realm, info):
    name = info.get("CompanyName", "Sandbox Company_US_1")
    address = info.get(
        "CompanyAddr",
        {
            "Id": "1",
            "Line1": "123 Sierra Way",
            "City": "San Pablo",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "87999",
        },
    )
    record = {
        "CompanyName": name,
        "LegalName": info.get("LegalName", name),
        "CompanyAddr": address,
        "CustomerCommunicationAddr": address,
        "LegalAddr": address,
        "PrimaryPhone": {"FreeFormNumber": "(650) 944-4444"},
        "CompanyStartDate": "2024-01-01",
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "noreply@quickbooks.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Professional Services"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        **info,
    }
    record.update(domain="QBO", sparse=False, Id="1", SyncToken="0", MetaData=realm.metadata())
    return record


def _preferences(realm, flags):
    """Full Preferences from a few flags: the ones a timesheet export cares about."""
    accounting = {
        "TrackDepartments": bool(flags.get("TrackDepartments", False)),
        "DepartmentTerminology": "Location",
        "ClassTrackingPerTxn": bool(flags.get("ClassTrackingPerTxn", True)),
        "ClassTrackingPerTxnLine": bool(flags.get("ClassTrackingPerTxnLine", False)),
        "CustomerTerminology": "Customers",
        "UseAccountNumbers": False,
        "FirstMonthOfFiscalYear": "January",
        "TaxYearMonth": "January",
    }
    if flags.get("BookCloseDate"):
        accounting["BookCloseDate"] = flags["BookCloseDate"]
    tracking = "true" if flags.get("TimeTrackingFeatureEnabled", True) else "false"
    # QBO Plus and Advanced have Projects; apps check this pair before using them.
    projects = "true" if flags.get("ProjectsEnabled", True) else "false"
    return {
        "AccountingInfoPrefs": accounting,
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDeposit": True,
            "AllowDiscount": True,
            "AllowShipping": False,
            "DefaultTerms": {"value": "3"},
        },
        "EmailMessagesPrefs": {},
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True},
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {"UsingSalesTax": False},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {
                    "Name": "SalesFormsPrefs.DefaultCustomerMessage",
                    "Value": "Thank you for your business.",
                },
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
                {"Name": "DTXCopyMemo", "Value": "false"},
                {"Name": "UncategorizedAssetAccountId", "Value": "32"},
                {"Name": "TimeTrackingFeatureEnabled", "Value": tracking},
                {"Name": "ProjectsEnabled", "Value": projects},
            ]
        },
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": realm.metadata(),
    }
