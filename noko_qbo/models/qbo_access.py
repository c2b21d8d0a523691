"""Who may call what: the checks every public entry point makes before any ``sudo()``.

Buttons, server actions, wizard methods and routes take records from the
caller (ids over RPC, ``active_ids`` of a server action, ``allowed_company_ids``
in a context). Odoo checks nothing about them when a method is called, and a
server action's ``group_ids`` only hides the menu entry. So each entry point
calls :func:`check_caller` first: the caller's group, the caller's access to
*those* records, and that they belong to the caller's current companies.
"""

from odoo import SUPERUSER_ID
from odoo.exceptions import AccessError

from ..const import ADMIN_GROUP, MANAGER_GROUP


def check_caller(records, operation="read", *, group=MANAGER_GROUP):
    """Raise ``AccessError`` unless the caller is in ``group`` and may ``operation`` ``records``.

    The records must also belong to the caller's current companies
    (``env.companies``): a manager of company B never acts on company A's
    records, whatever ids or context they send. The superuser (crons, jobs)
    passes; code running in ``sudo()`` for a user still needs that user's group.
    """
    env = records.env
    if env.uid != SUPERUSER_ID and not env.user.has_group(group):
        raise AccessError(
            env._("Only QuickBooks managers can do this.")
            if group == MANAGER_GROUP
            else env._("Only administrators can do this.")
        )
    if env.su:  # no RPC caller runs in sudo(): our own code chose these records
        return
    records.check_access(operation)
    outside = _outside_companies(records)
    if outside:
        raise AccessError(
            env._(
                "%(record)s belongs to %(company)s, which is not one of your selected "
                "companies: switch to it first.",
                record=outside[0].display_name,
                company=_company_of(outside[0]).display_name,
            )
        )


def check_admin(records, operation="read"):
    """:func:`check_caller` for Settings actions (connect, disconnect, lists)."""
    check_caller(records, operation, group=ADMIN_GROUP)


def _company_of(record):
    return record if record._name == "res.company" else record.company_id


def _outside_companies(records):
    allowed = records.env.companies
    return records.filtered(
        lambda record: _company_of(record) and _company_of(record) not in allowed
    )


def check_read(records):
    """Raise ``AccessError`` unless the caller may read every one of ``records``: one query.

    For thousands of lines (an export preview): Odoo 19's ``check_access`` tests each
    record against the record rules in Python, which takes seconds for 10,000 timesheets
    of a timesheet approver; a search applies the same rules in SQL. The first record
    the search leaves out gets Odoo's own check, and its error naming it.
    """
    if records.env.su or not records:
        return
    readable = records.search([("id", "in", records.ids)], order="id")
    forbidden = records - readable
    if forbidden:
        forbidden[:1].check_access("read")
