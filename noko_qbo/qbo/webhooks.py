"""QBO webhook notifications, the pure part: is it Intuit's, and what does it say.

Intuit signs the raw body: header ``intuit-signature`` = base64(HMAC-SHA256(
key = the app's verifier token, message = the raw body)). Two payload
formats arrive: the legacy ``{"eventNotifications": [...]}`` and, since the
2026 migration, a CloudEvents JSON array. Both say only which record of which
company changed (ids, not values): read the record to learn more. Events may
arrive out of order and one delivery may concern several companies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from .timestamps import parse_timestamp

#: CloudEvents name entities in lower case (``qbo.timeactivity.deleted.v1``).
_ENTITY_NAMES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}
#: CloudEvents verbs -> the legacy operation names.
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}


@dataclass(frozen=True)
class Event:
    """One change QBO notified: ``entity`` ``entity_id`` of company ``realm_id`` had ``operation``.

    ``operation`` is ``Create``, ``Update``, ``Delete``, ``Merge``, ``Void``,
    ``Emailed``...; ``occurred_at`` an aware datetime, or None when the
    notification has no usable time; ``event_id`` the CloudEvents id (None in
    legacy notifications), for deduplication.
    """

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    occurred_at: datetime | None = None
    event_id: str | None = None


def verify_signature(raw_body: bytes, signature: str | None, verifier_token: str) -> bool:
    """Whether ``signature`` (the ``intuit-signature`` header) signs ``raw_body``.

    Compares the canonical base64 text in constant time; a missing, empty or
    non-ASCII signature, or no verifier token, is False.
    """
    if not signature or not verifier_token:
        return False
    try:
        received = signature.strip().encode("ascii")
    except UnicodeEncodeError:
        return False
    digest = hmac.new(verifier_token.encode("utf-8"), bytes(raw_body), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), received)


def parse_events(raw_body) -> list[Event]:
    """The events of one delivery, legacy or CloudEvents; ValueError when it is neither."""
    try:
        document = json.loads(raw_body)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    if isinstance(document, list):
        return [_cloud_event(entry) for entry in document]
    if isinstance(document, dict) and "eventNotifications" in document:
        return _legacy_events(document["eventNotifications"])
    raise ValueError("webhook body is neither a CloudEvents array nor eventNotifications")


def _cloud_event(entry):
    """``{"type": "qbo.timeactivity.deleted.v1", "intuitentityid", "intuitaccountid", "time"}``."""
    if not isinstance(entry, dict):
        raise ValueError("a CloudEvents entry must be an object")
    parts = str(entry.get("type") or "").split(".")
    if len(parts) < 3 or parts[0] != "qbo":
        raise ValueError(f"unexpected CloudEvents type {entry.get('type')!r}")
    entity, verb = parts[1], parts[2]
    return Event(
        realm_id=_required(entry, "intuitaccountid"),
        entity=_ENTITY_NAMES.get(entity.lower(), entity),
        entity_id=_required(entry, "intuitentityid"),
        operation=_OPERATIONS.get(verb.lower(), verb.capitalize()),
        occurred_at=parse_timestamp(entry.get("time")),
        event_id=str(entry["id"]) if entry.get("id") else None,
    )


def _legacy_events(notifications):
    """``[{"realmId", "dataChangeEvent": {"entities": [{"name", "id", "operation", ...}]}}]``."""
    if not isinstance(notifications, list):
        raise ValueError("eventNotifications must be a list")
    events = []
    for notification in notifications:
        if not isinstance(notification, dict):
            raise ValueError("an event notification must be an object")
        realm_id = _required(notification, "realmId")
        entities = (notification.get("dataChangeEvent") or {}).get("entities")
        if not isinstance(entities, list):
            raise ValueError("dataChangeEvent.entities must be a list")
        for entity in entities:
            if not isinstance(entity, dict):
                raise ValueError("a changed entity must be an object")
            events.append(
                Event(
                    realm_id=realm_id,
                    entity=_required(entity, "name"),
                    entity_id=_required(entity, "id"),
                    operation=_required(entity, "operation"),
                    occurred_at=parse_timestamp(entity.get("lastUpdated")),
                )
            )
    return events


def _required(mapping, name):
    value = mapping.get(name)
    if value in (None, ""):
        raise ValueError(f"webhook event lacks {name!r}")
    return str(value)
