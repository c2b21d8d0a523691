"""Invoices that bill time, as a QBO user's "Create invoice" from unbilled time makes them."""

from datetime import datetime, timedelta

from . import time_activity
from .company import USD

NET_DAYS = 30  # the demo company's default terms


def bill(realm, ids):
    """Invoice the Billable activities among ``ids``: one Invoice per CustomerRef, one line per
    activity linking it (``LinkedTxn`` of type TimeActivity); each becomes HasBeenBilled.

    Ids that are unknown, deleted, already billed or not Billable are left alone and
    reported under ``skipped`` with the reason, as QBO only offers billable time to bill.
    """
    with realm.lock:
        by_customer, skipped = {}, {}
        for record_id in dict.fromkeys(str(i) for i in ids):
            record = realm.get("TimeActivity", record_id)
            if record is None:
                deleted = record_id in realm.deleted["TimeActivity"]
                skipped[record_id] = "deleted" if deleted else "not found"
            elif record_id in realm.invoice_of:
                skipped[record_id] = "already billed"
            elif record["BillableStatus"] != "Billable":
                skipped[record_id] = "not billable"
            else:
                by_customer.setdefault(record["CustomerRef"]["value"], []).append(record)
        invoices = [_invoice(realm, records) for records in by_customer.values()]
        billed = [r["Id"] for records in by_customer.values() for r in records]
        return {"billed": billed, "invoices": invoices, "skipped": skipped}


def _invoice(realm, activities):
    invoice_id = realm.new_id()
    lines = [_line(n, activity) for n, activity in enumerate(activities, start=1)]
    total = round(sum(line["Amount"] for line in lines), 2)
    lines.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
    today = realm.clock.today()
    realm.records["Invoice"][invoice_id] = {
        "Line": lines,
        "CustomerRef": dict(activities[0]["CustomerRef"]),
        "DocNumber": str(1000 + len(realm.records["Invoice"]) + 1),
        "TxnDate": today.isoformat(),
        "DueDate": (today + timedelta(days=NET_DAYS)).isoformat(),
        "TotalAmt": total,
        "Balance": total,
        "CurrencyRef": USD,
        "domain": "QBO",
        "sparse": False,
        "Id": invoice_id,
        "SyncToken": "0",
        "MetaData": realm.metadata(),
    }
    realm.changed("Invoice", invoice_id, "Create")
    for activity in activities:
        time_activity.mark_billed(realm, activity["Id"], invoice_id)
    return invoice_id


def _line(number, activity):
    quantity = round(_hours(activity), 2)
    rate = activity.get("HourlyRate") or 0
    detail = {"ItemRef": activity.get("ItemRef"), "UnitPrice": rate, "Qty": quantity}
    detail["ServiceDate"] = activity["TxnDate"]
    if "ClassRef" in activity:
        detail["ClassRef"] = activity["ClassRef"]
    return {
        "Id": str(number),
        "LineNum": number,
        "Description": activity.get("Description", ""),
        "Amount": round(quantity * rate, 2),
        "LinkedTxn": [{"TxnId": activity["Id"], "TxnType": "TimeActivity"}],
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {k: v for k, v in detail.items() if v is not None},
    }


def _hours(activity):
    if "StartTime" in activity:
        worked = datetime.fromisoformat(activity["EndTime"]) - datetime.fromisoformat(
            activity["StartTime"]
        )
        breaks = timedelta(
            hours=activity.get("BreakHours", 0), minutes=activity.get("BreakMinutes", 0)
        )
        return max(worked - breaks, timedelta()) / timedelta(hours=1)
    return activity.get("Hours", 0) + activity.get("Minutes", 0) / 60
