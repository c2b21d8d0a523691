"""A timesheet line bound to its QBO TimeActivity: marking it exported, unlocking it.

Connector vocabulary: a line is *bound* once QBO holds it (``qbo_time_activity_id``
and ``qbo_realm_id`` set, state ``exported``). :meth:`_qbo_mark_exported` is the
only place that binds a line.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...const import BILLING_STATUS_OF
from ...qbo import payloads
from ..qbo_access import check_caller
from ..qbo_user_message import count_lines, qbo_user_errors

_BINDING_FIELDS = [
    "qbo_state",
    "qbo_error",
    "qbo_time_activity_id",
    "qbo_realm_id",
    "qbo_changed_since_export",
    "qbo_billing_status",
    "qbo_deleted_at",
]


class AccountAnalyticLine(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "account.analytic.line"  # pylint: disable=consider-merging-classes-inherited

    def _qbo_mark_exported(self, qbo_id, changed=False, billable_status=None):
        """QBO holds this line as TimeActivity ``qbo_id`` (of the line's company's realm).

        ``changed``: QBO's copy differs from the line (edited after it was sent).
        ``billable_status``: QBO's ``BillableStatus`` of its copy, as it answered.
        """
        self.ensure_one()
        self._qbo_mark_exported_many({self: (qbo_id, changed, billable_status)})

    @api.model
    def _qbo_mark_exported_many(self, bindings):
        """Bind many lines at once: ``{line: (qbo_id, changed[, billable_status])}``.

        The one place lines are bound; ``billable_status`` is QBO's
        ``BillableStatus`` of its copy (the line's ``qbo_billing_status``).

        One statement for a whole chunk: these are bookkeeping fields no other
        field depends on, and an ORM write per line (through hr_timesheet's
        write) would cost more than sending the line to QBO.
        """
        if not bindings:
            return
        bindings = {line: (*binding, None)[:3] for line, binding in bindings.items()}
        lines = self.browse([line.id for line in bindings]).sudo()
        lines.flush_recordset(_BINDING_FIELDS)
        realms = {company.id: company.qbo_realm_id or None for company in lines.company_id}
        self.env.cr.execute(
            SQL(
                """UPDATE account_analytic_line AS line
                      SET qbo_state = 'exported', qbo_error = NULL,
                          qbo_time_activity_id = bound.qbo_id, qbo_realm_id = bound.realm,
                          qbo_changed_since_export = bound.changed,
                          qbo_billing_status = bound.billing, qbo_deleted_at = NULL,
                          write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                     FROM unnest(%(ids)s::int[], %(qbo_ids)s::varchar[], %(realms)s::varchar[],
                                 %(changed)s::bool[], %(billing)s::varchar[])
                          AS bound(id, qbo_id, realm, changed, billing)
                    WHERE line.id = bound.id""",
                uid=self.env.uid,
                ids=[line.id for line in bindings],
                qbo_ids=[str(qbo_id) for qbo_id, _changed, _status in bindings.values()],
                realms=[realms[line.sudo().company_id.id] for line in bindings],
                changed=[bool(changed) for _qbo_id, changed, _status in bindings.values()],
                billing=[
                    BILLING_STATUS_OF.get(status) for _qbo_id, _changed, status in bindings.values()
                ],
            )
        )
        lines.invalidate_recordset([*_BINDING_FIELDS, "write_uid", "write_date"])

    def _qbo_bind(self, qbo_id, outcome="reconciled", changes=(), billable_status=None):
        """Bind the line, recording it on the result of the run that approved it, if any."""
        self.ensure_one()
        result = (
            self.env["qbo.export.result"]
            .sudo()
            .search(
                [("line_id", "=", self.id), ("export_id", "=", self.sudo().qbo_export_id.id)],
                limit=1,
            )
        )
        if result:
            result._qbo_set_exported(
                qbo_id, outcome, changes=changes, billable_status=billable_status
            )
        else:
            self._qbo_mark_exported(qbo_id, changed=bool(changes), billable_status=billable_status)

    # ------------------------------------------------------------------ re-link

    def _qbo_relink(self, company, activities):
        """Bind the lines of ``company`` whose marker ``activities`` carry; counts per outcome.

        After an uninstall and reinstall, or a restore, lines have lost their
        bookkeeping but QBO still holds them. The marker alone decides (it is
        derived from the line's id and this database): a line changed since is
        bound all the same and flagged. Nothing is created in QBO.
        """
        by_marker = {}
        for activity in activities:
            tag = payloads.marker_in(activity.get("Description"))
            if tag:
                by_marker.setdefault(tag, []).append(activity)
        lines = self.sudo().search([("company_id", "=", company.id), ("project_id", "!=", False)])
        counts = {"bound": 0, "changed": 0, "already": 0, "conflict": 0}
        found = {}
        for line in lines:
            copies = by_marker.get(payloads.marker(line._qbo_request_key()))
            if copies:
                found[line] = min(copies, key=lambda activity: int(activity["Id"]))
        relinked = self.browse([line.id for line in found]).sudo()
        relinked._qbo_lock_rows()
        plans = relinked._qbo_time_activity_plans(company)
        for line, stored in found.items():
            if line.qbo_time_activity_id:
                counts["already" if line.qbo_time_activity_id == stored["Id"] else "conflict"] += 1
                continue
            changes = line._qbo_relink_changes(plans[line.id], stored)
            line._qbo_bind(
                stored["Id"], changes=changes, billable_status=stored.get("BillableStatus")
            )
            counts["changed" if changes else "bound"] += 1
        counts["unknown"] = len(by_marker) - len(found)
        return counts

    def _qbo_relink_changes(self, plan, stored):
        """What QBO's copy no longer shares with the line as it would be sent now."""
        if plan.blocked:  # no payload to compare with: date and duration tell enough
            hours, minutes = divmod(plan.minutes, 60)
            sent = {"TxnDate": fields.Date.to_string(self.date), "Hours": hours, "Minutes": minutes}
            return tuple(
                change
                for change in payloads.differences(sent, stored)
                if change in ("date", "duration")
            )
        return payloads.differences(self._qbo_time_activity_payload(plan), stored)

    # ------------------------------------------------------------------ unlock

    def action_qbo_unlock(self):
        """Back to draft: approved lines that QBO has not received yet (QuickBooks managers)."""
        check_caller(self, "write")
        lines = self.sudo()
        lines._qbo_lock_rows()
        lines.invalidate_recordset(["qbo_state", "qbo_time_activity_id", "qbo_export_id"])
        exported = lines.filtered(
            lambda line: (
                line.qbo_state == "exported"
                or (line.qbo_time_activity_id and line.qbo_state != "deleted")
            )
        )
        if exported:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s is already in QuickBooks Online: it cannot "
                    "be unlocked.",
                    line=exported[0]._qbo_label(),
                )
            )
        # deleted in QBO: released once QBO confirms it has them no more (qbo_side.py)
        still_in_qbo, released = lines.filtered(
            lambda line: line.qbo_state == "deleted"
        )._qbo_release_deleted()
        approved = lines.filtered(lambda line: line.qbo_state == "approved")
        in_qbo = approved._qbo_bind_already_sent()
        unlocked = approved - in_qbo
        runs = unlocked.qbo_export_id
        unlocked._qbo_internal().write({"qbo_state": "draft", "qbo_error": False})
        runs._qbo_record_unlock(unlocked)
        return self._qbo_unlock_notification(in_qbo | still_in_qbo, unlocked | released)

    def _qbo_unlock_notification(self, in_qbo, unlocked):
        # The Action menu's server action hands this on to the web client: always an action.
        if in_qbo:
            message = self.env._(
                "%(found)s already in QuickBooks Online (an interrupted export had sent "
                "them): marked exported, they stay locked. Unlocked: %(unlocked)s.",
                found=count_lines(self.env, len(in_qbo)),
                unlocked=count_lines(self.env, len(unlocked)),
            )
        else:
            message = self.env._(
                "%(count)s unlocked: they can be edited again.",
                count=count_lines(self.env, len(unlocked)),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if in_qbo else "success",
                "sticky": bool(in_qbo),
                "message": message,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _qbo_bind_already_sent(self):
        """The approved lines QBO already holds, bound as exported: they must stay locked.

        An export job that dies after QBO created its TimeActivities but before its
        transaction commits leaves those lines approved. Unlocked and edited, they
        would be sent a second time; so unlocking first asks QBO, by each line's
        marker, and refuses to guess when QBO cannot be asked.
        """
        bound = self.browse()
        for company in self.company_id:
            lines = self.filtered(lambda line, company=company: line.company_id == company)
            keys = {line._qbo_request_key(): line for line in lines}
            with qbo_user_errors(
                self.env, lambda text, c=company: self._qbo_unlock_needs_qbo(c, text)
            ):
                found = company._qbo_client().find_time_activities(
                    {key: fields.Date.to_string(line.date) for key, line in keys.items()}
                )
            for key, stored in found.items():
                keys[key]._qbo_bind(stored["Id"], billable_status=stored.get("BillableStatus"))
                bound |= keys[key]
        return bound

    def _qbo_unlock_needs_qbo(self, company, text):
        return self.env._(
            "Unlocking needs the connection to QuickBooks Online of %(company)s: it first "
            "checks that an interrupted export did not send these lines already. %(error)s",
            company=company.name,
            error=text,
        )
