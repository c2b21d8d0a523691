"""TimeActivity: create, read, update and delete with the validation QBO applies."""

import copy
from datetime import date, datetime

from . import faults
from .clock import PACIFIC

BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
PAYEES = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}
MAX_DESCRIPTION = 4000
MAX_HOURS = 8760
# QBO answers with the fields in this order; anything else sent is dropped.
FIELD_ORDER = (
    "TxnDate",
    "NameOf",
    "EmployeeRef",
    "VendorRef",
    "CustomerRef",
    "DepartmentRef",
    "ItemRef",
    "ClassRef",
    "ProjectRef",
    "BillableStatus",
    "Taxable",
    "HourlyRate",
    "CostRate",
    "Hours",
    "Minutes",
    "BreakHours",
    "BreakMinutes",
    "StartTime",
    "EndTime",
    "Description",
)
AMOUNT_FIELDS = ("Hours", "Minutes")
CLOCK_FIELDS = ("StartTime", "EndTime", "BreakHours", "BreakMinutes")


def read(realm, record_id):
    with realm.lock:
        return copy.deepcopy(_stored(realm, record_id))


def create(realm, payload):
    with realm.lock:
        fields = _validated(realm, payload)
        record_id = realm.new_id()
        record = {
            **fields,
            "domain": "QBO",
            "sparse": False,
            "Id": record_id,
            "SyncToken": "0",
            "MetaData": realm.metadata(),
        }
        realm.records["TimeActivity"][record_id] = record
        realm.changed("TimeActivity", record_id, "Create")
        return copy.deepcopy(record)


def update(realm, payload):
    """Full update (omitted fields are cleared), or a merge when ``sparse`` is true.

    The SyncToken must be the current one; every update increments it and
    sets LastUpdatedTime. Neither the old nor the new TxnDate may be closed.
    """
    with realm.lock:
        current = _current(realm, payload)
        _check_open_period(realm, current.get("TxnDate"))
        if payload.get("sparse") in (True, "true"):
            payload = _merged(current, payload)
        fields = _validated(realm, payload, existing=current)
        record = {
            **fields,
            "domain": "QBO",
            "sparse": False,
            "Id": current["Id"],
            "SyncToken": str(int(current["SyncToken"]) + 1),
            "MetaData": realm.metadata(current["MetaData"]["CreateTime"]),
        }
        realm.records["TimeActivity"][current["Id"]] = record
        realm.changed("TimeActivity", current["Id"], "Update")
        return copy.deepcopy(record)


def mark_billed(realm, record_id, invoice_id):
    """QBO's side of an invoice linking the activity: HasBeenBilled, a new SyncToken and
    LastUpdatedTime. The TimeActivity schema has no LinkedTxn: the status is all it shows."""
    record = realm.records["TimeActivity"][record_id]
    record["BillableStatus"] = "HasBeenBilled"
    record["SyncToken"] = str(int(record["SyncToken"]) + 1)
    record["MetaData"] = realm.metadata(record["MetaData"]["CreateTime"])
    realm.invoice_of[record_id] = invoice_id
    realm.changed("TimeActivity", record_id, "Update")


def delete(realm, payload):
    with realm.lock:
        current = _current(realm, payload)
        _check_open_period(realm, current.get("TxnDate"))
        remove(realm, current["Id"])
        return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}


def remove(realm, record_id):
    """Delete for good, as QBO deletes transactions; later reads say it was deleted."""
    del realm.records["TimeActivity"][record_id]
    realm.invoice_of.pop(record_id, None)
    realm.deleted["TimeActivity"].add(record_id)
    realm.changed("TimeActivity", record_id, "Delete")


def delete_many(realm, ids):
    """Delete as a QBO user does in the app (no SyncToken); unknown and already deleted ids
    are reported under ``skipped``."""
    with realm.lock:
        deleted, skipped = [], {}
        for record_id in dict.fromkeys(str(i) for i in ids):
            if record_id in realm.records["TimeActivity"]:
                remove(realm, record_id)
                deleted.append(record_id)
            elif record_id in realm.deleted["TimeActivity"]:
                skipped[record_id] = "deleted"
            else:
                skipped[record_id] = "not found"
        return {"deleted": deleted, "skipped": skipped}


def _stored(realm, record_id, element=""):
    record = realm.get("TimeActivity", record_id)
    if record is not None:
        return record
    if str(record_id) in realm.deleted["TimeActivity"]:
        raise faults.deleted_object()
    raise faults.object_not_found(element)


def _current(realm, payload):
    if not isinstance(payload, dict):
        raise faults.required("Id")
    record_id = str(payload.get("Id") or "")
    if not record_id:
        raise faults.required("Id")
    current = _stored(realm, record_id, "Id")
    if payload.get("SyncToken") is None:
        raise faults.required("SyncToken")
    if str(payload["SyncToken"]) != current["SyncToken"]:
        raise faults.stale_object()
    return current


def _merged(current, payload):
    """A sparse update: the stored fields, overwritten by those sent.

    Sending one duration style (Hours/Minutes or StartTime/EndTime) replaces
    the other, so a sparse switch between them does not send both.
    """
    base = {k: current[k] for k in FIELD_ORDER if k in current}
    if any(payload.get(k) is not None for k in AMOUNT_FIELDS):
        for key in CLOCK_FIELDS:
            base.pop(key, None)
    if payload.get("StartTime") or payload.get("EndTime"):
        for key in AMOUNT_FIELDS:
            base.pop(key, None)
    return {**base, **payload}


def _validated(realm, payload, existing=None):
    """The stored fields for ``payload``, or the first QboError QBO would give."""
    if not realm.time_tracking:
        raise faults.business("Time tracking is not turned on for this company.")
    if not isinstance(payload, dict):
        raise faults.required("TimeActivity")
    out = {}
    status = _billable_status(realm, payload, existing)
    out["TxnDate"] = _txn_date(realm, payload)
    name_of = payload.get("NameOf")
    if not name_of:
        raise faults.required("NameOf")
    if name_of not in PAYEES:
        raise faults.invalid_enum("NameOf", name_of)
    out["NameOf"] = name_of
    payee_key = PAYEES[name_of]
    out[payee_key] = _reference(realm, payload, payee_key, name_of, required=True)
    customer = _reference(realm, payload, "CustomerRef", "Customer")
    project = _project(realm, payload, customer)
    if customer or project:
        out["CustomerRef"] = customer or project
    if item := _reference(realm, payload, "ItemRef", "Item"):
        out["ItemRef"] = item
    elif default := _default_item(realm):
        out["ItemRef"] = default
    # Class refs count only when the company tracks classes; otherwise QBO drops them.
    if realm.class_tracking and (klass := _reference(realm, payload, "ClassRef", "Class")):
        out["ClassRef"] = klass
    if project:
        out["ProjectRef"] = project
    out["BillableStatus"] = status
    out["Taxable"] = bool(payload.get("Taxable", False))
    rate = _number(payload, "HourlyRate")
    if status == "Billable":
        if "CustomerRef" not in out:
            raise faults.required("CustomerRef")
        if rate is None:
            raise faults.required("HourlyRate")
    # QBO always answers with an HourlyRate, 0 when none was given (Intuit's
    # TimeActivity reference: NotBillable and StartTime/EndTime examples).
    out["HourlyRate"] = rate if rate is not None else 0
    if (cost := _number(payload, "CostRate")) is not None:
        out["CostRate"] = cost
    out.update(_duration(payload, out["TxnDate"]))
    description = payload.get("Description")
    if description is not None:
        description = str(description)
        if len(description) > MAX_DESCRIPTION:
            raise faults.too_long("Description", MAX_DESCRIPTION, len(description))
        out["Description"] = description
    return out


def _billable_status(realm, payload, existing):
    if existing is not None and existing["Id"] in realm.invoice_of:
        # Billed time stays billed: QBO derives the status from the invoice's link.
        return "HasBeenBilled"
    status = payload.get("BillableStatus") or "NotBillable"
    if status not in BILLABLE_STATUSES:
        raise faults.invalid_enum("BillableStatus", status)
    if status == "HasBeenBilled":
        # Set by QBO when an invoice links the activity, never by clients (Intuit's
        # error guide gives this detail for 2170).
        raise faults.invalid_enum("BillableStatus", "HAS_BEEN_BILLED")
    return status


def _project(realm, payload, customer):
    """ProjectRef (minor version 69+): a customer that is a QBO Project, in a company with
    Projects; CustomerRef, when sent too, is that project or its parent customer."""
    ref = payload.get("ProjectRef")
    project_id = str(ref.get("value") or "") if isinstance(ref, dict) else str(ref or "")
    if not project_id:
        return None
    record = realm.get("Customer", project_id)
    if record is None or not record.get("IsProject") or not realm.projects_enabled:
        raise faults.invalid_reference("ProjectRef", "Project", project_id)
    if not record.get("Active", True):
        raise faults.object_not_found("ProjectRef")
    parent = (record.get("ParentRef") or {}).get("value")
    if customer and customer["value"] not in (project_id, parent):
        raise faults.business(
            f"Project {record['DisplayName']} does not belong to the customer {customer['name']}.",
            "ProjectRef",
        )
    return {"value": project_id, "name": record["DisplayName"]}


def _txn_date(realm, payload):
    raw = payload.get("TxnDate")
    if raw:
        try:
            txn_date = date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise faults.business(f"Invalid date format for TxnDate: {raw}", "TxnDate") from None
    else:
        txn_date = realm.clock.today()
    _check_open_period(realm, txn_date.isoformat())
    return txn_date.isoformat()


def _check_open_period(realm, txn_date):
    closed = realm.closed_books
    if closed and txn_date and str(txn_date)[:10] <= closed:
        raise faults.period_closed(closed)


def _reference(realm, payload, key, entity, required=False):
    ref = payload.get(key)
    ref_id = str(ref.get("value") or "") if isinstance(ref, dict) else str(ref or "")
    if not ref_id:
        if required:
            raise faults.required(key)
        return None
    record = realm.get(entity, ref_id)
    if record is None:
        raise faults.invalid_reference(key, entity, ref_id)
    if not record.get("Active", True):
        raise faults.object_not_found(key)
    if entity == "Item" and record.get("Type") != "Service":
        raise faults.business(f"Item {record['Name']} is not a service item", key)
    # Ref names are the short name, not FullyQualifiedName: a job reads
    # {"value": "8", "name": "0969 Ocean View Road"} in Intuit's examples.
    return {"value": ref_id, "name": record.get("DisplayName") or record.get("Name")}


def _default_item(realm):
    """Since minor version 74 QBO fills in the company's default service item."""
    for record in realm.records["Item"].values():
        if record.get("Active", True) and record.get("Type") == "Service":
            return {"value": record["Id"], "name": record["Name"]}
    return None


def _number(payload, key, low=None, high=None):
    raw = payload.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise faults.business(f"{key} is not a number: {raw}", key) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise faults.out_of_range(key, low, high, raw)
    return int(value) if value.is_integer() else value


def _integer(payload, key, low, high):
    """Hours, Minutes and breaks are integers in QBO's schema (xs:integer).

    A fraction is cut off (Jackson's default for integer fields: 1.5 hours
    is stored as 1) and anything not a number is refused with 2010.
    """
    raw = payload.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise faults.invalid_property(f"{key} (not a valid Integer value: {raw})", key)
    try:
        value = int(float(raw))
    except (TypeError, ValueError, OverflowError):
        raise faults.invalid_property(f"{key} (not a valid Integer value: {raw})", key) from None
    if value < low or value > high:
        raise faults.out_of_range(key, low, high, raw)
    return value


def _moment(raw, key, txn_date):
    """A StartTime/EndTime as QBO answers it: a full timestamp in the company's zone.

    QBO also takes a bare time of day (``08:00:00-08:00``) and puts it on
    TxnDate; times without an offset are company (Pacific) time.
    """
    text = str(raw).strip().replace("Z", "+00:00")
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text)
        else:
            moment = datetime.fromisoformat(f"{txn_date}T{text}")
    except ValueError:
        raise faults.business(f"Invalid date/time format for {key}: {raw}", key) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=PACIFIC)
    return moment.astimezone(PACIFIC)


def _duration(payload, txn_date):
    """Hours/Minutes or StartTime/EndTime (with breaks), never both."""
    by_amount = payload.get("Hours") is not None or payload.get("Minutes") is not None
    by_clock = bool(payload.get("StartTime") or payload.get("EndTime"))
    if by_amount and by_clock:
        raise faults.business(
            "Specify either Hours/Minutes or StartTime/EndTime, not both.", "StartTime"
        )
    if by_clock:
        if not payload.get("StartTime"):
            raise faults.required("StartTime")
        if not payload.get("EndTime"):
            raise faults.required("EndTime")
        start = _moment(payload["StartTime"], "StartTime", txn_date)
        end = _moment(payload["EndTime"], "EndTime", txn_date)
        if start >= end:
            raise faults.business("EndTime must be after StartTime.", "EndTime")
        out = {
            "StartTime": start.isoformat(timespec="seconds"),
            "EndTime": end.isoformat(timespec="seconds"),
        }
        for key, high in (("BreakHours", 23), ("BreakMinutes", 59)):
            value = _integer(payload, key, 0, high)
            if value is not None:
                out[key] = value
        return out
    if not by_amount:
        raise faults.required("Hours")
    hours = _integer(payload, "Hours", 0, MAX_HOURS) or 0
    minutes = _integer(payload, "Minutes", 0, 59) or 0
    if hours == MAX_HOURS and minutes:
        raise faults.out_of_range("Minutes", 0, 0, minutes)
    return {"Hours": hours, "Minutes": minutes}
