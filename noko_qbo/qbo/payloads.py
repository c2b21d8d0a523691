"""TimeActivity payloads: build, check before sending, mark for reconciliation.

Payloads go through python-quickbooks' ``TimeActivity`` / ``Ref`` objects so
their JSON is the one the library (and its users) send to QBO. Before any
request we check what QBO would reject anyway (missing payee, both duration
forms, billable without rate...), so such a line fails alone instead of
costing a slot of the batch budget.

The reconciliation marker: every line sent through
:meth:`.client.QboClient.send_time_activities` gets ``[ref:XXXXXXXXXX]``
appended to its ``Description``, where ``XXXXXXXXXX`` is 10 base32
characters of SHA-256 of the caller's stable key (50 bits: a collision
between two lines of the same day is negligible). TimeActivity has no custom
fields or external id, and Description is the only free text shown to users
that survives a round trip, so the marker is kept short and at the end.

The marker alone identifies a line (see :mod:`.reconciliation`): a line
edited since it was sent is still recognised, and :func:`differences` says
what QBO's copy no longer shares with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from quickbooks.objects.base import Ref
from quickbooks.objects.timeactivity import TimeActivity

from .errors import QboFault

DESCRIPTION_MAX = 4000
BILLABLE_STATUSES = ("Billable", "NotBillable")
_MARKER = re.compile(r"\[ref:([A-Z2-7]{10})\]")


def ref(value, name=None):
    """A python-quickbooks ``Ref`` to a QBO record by Id."""
    reference = Ref()
    reference.value = str(value)
    reference.name = name or ""
    return reference


def build_time_activity(
    txn_date,
    payee_type,
    payee_id,
    *,
    hours=0,
    minutes=0,
    customer_id=None,
    item_id=None,
    description="",
    billable=False,
    hourly_rate=None,
    class_id=None,
    department_id=None,
):
    """A TimeActivity payload (dict) from domain values.

    ``payee_type`` is ``Employee`` or ``Vendor``. Hook: override or wrap to
    add fields (ProjectRef, CostRate) the Odoo mapping learns about.
    """
    activity = TimeActivity()
    activity.TxnDate = str(txn_date)
    activity.NameOf = payee_type
    if payee_type == "Employee":
        activity.EmployeeRef = ref(payee_id)
    else:
        activity.VendorRef = ref(payee_id)
    activity.Hours = int(hours)
    activity.Minutes = int(minutes)
    if customer_id:
        activity.CustomerRef = ref(customer_id)
    if item_id:
        activity.ItemRef = ref(item_id)
    if class_id:
        activity.ClassRef = ref(class_id)
    if department_id:
        activity.DepartmentRef = ref(department_id)
    if description:
        activity.Description = description
    activity.BillableStatus = "Billable" if billable else "NotBillable"
    if hourly_rate is not None:
        activity.HourlyRate = hourly_rate
    return to_payload(activity)


def to_payload(activity):
    """The JSON dict python-quickbooks would send for ``activity``."""
    return json.loads(activity.to_json())


def normalize(payload):
    """Round-trip a caller's dict through ``TimeActivity`` (fills its defaults, drops Nones)."""
    return to_payload(TimeActivity.from_json(payload))


def _ref_value(payload, name):
    value = payload.get(name)
    if isinstance(value, dict):
        return str(value.get("value") or "")
    return str(value or "")


def check(payload):
    """The fault QBO would answer for ``payload``, found without asking it; else None.

    Faults carry ``code`` ``"client"`` plus the QBO code they stand for in
    ``detail``, so the user reads QBO's own vocabulary.
    """

    def fault(code, element, message):
        return QboFault(
            "validation", code="client", message=message, detail=f"QBO {code}", element=element
        )

    name_of = payload.get("NameOf")
    if name_of not in ("Employee", "Vendor"):
        return fault(2020, "NameOf", "NameOf must be Employee or Vendor")
    if not _ref_value(payload, f"{name_of}Ref"):
        return fault(2020, f"{name_of}Ref", f"{name_of}Ref is required when NameOf is {name_of}")
    has_hours = payload.get("Hours") is not None or payload.get("Minutes") is not None
    has_times = payload.get("StartTime") or payload.get("EndTime")
    if has_hours and has_times:
        return fault(2020, "Hours", "Give Hours/Minutes or StartTime/EndTime, not both")
    if has_hours:
        hours, minutes = int(payload.get("Hours") or 0), int(payload.get("Minutes") or 0)
        if not 0 <= hours <= 8760 or not 0 <= minutes <= 59:
            return fault(2050, "Hours", "Hours must be 0-8760 and Minutes 0-59")
        if hours == 0 and minutes == 0:
            return fault(2050, "Hours", "A time activity needs a duration")
    elif not (payload.get("StartTime") and payload.get("EndTime")):
        return fault(2020, "Hours", "A duration (Hours/Minutes or StartTime/EndTime) is required")
    status = payload.get("BillableStatus")
    if status is not None and status not in BILLABLE_STATUSES:
        return fault(2170, "BillableStatus", f"BillableStatus {status!r} cannot be sent")
    if status == "Billable" and (
        not _ref_value(payload, "CustomerRef") or payload.get("HourlyRate") is None
    ):
        return fault(2020, "HourlyRate", "Billable time needs a customer and an hourly rate")
    if len(payload.get("Description") or "") > DESCRIPTION_MAX:
        return fault(2050, "Description", f"Description is longer than {DESCRIPTION_MAX}")
    return None


# --------------------------------------------------------------------------- marker


def marker(key):
    """``[ref:XXXXXXXXXX]`` for a caller's stable line key."""
    digest = hashlib.sha256(str(key).encode("utf-8")).digest()
    return f"[ref:{base64.b32encode(digest).decode('ascii')[:10]}]"


def with_marker(payload, key):
    """A copy of ``payload`` whose Description ends with the key's marker (trimmed to fit)."""
    tag = marker(key)
    marked = dict(payload)
    description = (payload.get("Description") or "").rstrip()
    room = DESCRIPTION_MAX - len(tag) - 1
    if len(description) > room:
        description = description[: room - 1].rstrip() + "…"
    marked["Description"] = f"{description} {tag}" if description else tag
    return marked


def marker_in(description):
    """The marker found at the end of a stored Description, or None."""
    found = _MARKER.findall(description or "")
    return f"[ref:{found[-1]}]" if found else None


def _duration(payload):
    if payload.get("StartTime"):
        # QBO rewrites StartTime/EndTime into its own offset format: not compared.
        return ("times",)
    return ("hours", int(payload.get("Hours") or 0), int(payload.get("Minutes") or 0))


def _payee(payload):
    name_of = payload.get("NameOf")
    return name_of, _ref_value(payload, f"{name_of}Ref")


#: What :func:`differences` compares: the fields that decide what QBO bills and pays.
_COMPARED = {
    "date": lambda payload: str(payload.get("TxnDate") or ""),
    "payee": _payee,
    "customer": lambda payload: _ref_value(payload, "CustomerRef"),
    "duration": _duration,
}


def differences(sent, stored):
    """What ``stored`` (read back from QBO) no longer shares with the payload ``sent``.

    A tuple of ``date``, ``payee``, ``customer``, ``duration``: empty when QBO
    holds the line as it is now. A payload without TxnDate (QBO dated it)
    does not compare its date.
    """
    return tuple(
        name
        for name, value in _COMPARED.items()
        if not (name == "date" and not sent.get("TxnDate")) and value(sent) != value(stored)
    )
