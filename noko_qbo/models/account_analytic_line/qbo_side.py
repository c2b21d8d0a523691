"""A line's life in QBO after the export: billing status, removal, deleted in QuickBooks.

Once exported, a TimeActivity is QBO's: a QBO user may bill it (an invoice
links it: ``HasBeenBilled``) or delete it. The sync
(``res.company._qbo_sync_time_activities``) reads what happened and records
it here (:meth:`_qbo_apply_reading`). A QuickBooks manager may remove an
unbilled line from QBO (:meth:`action_qbo_remove`) and decides what becomes
of a line whose TimeActivity was deleted in QBO: unlock it
(``action_qbo_unlock``) or export it again (:meth:`action_qbo_export_again`).
Billed time is never removed, unlocked or sent again.

Order of operations, everywhere a line leaves QBO: QBO first, then the line,
in the transaction that holds the line's row lock. A line goes back to draft
only after QBO answered that its TimeActivity is gone (deleted now, or not
found); a failure between that answer and the commit leaves the line locked
as it was (exported), never draft while its TimeActivity exists. The next
attempt finds the TimeActivity gone and releases the line: deleting in QBO is
idempotent (a second delete, or a read, answers "not found").
"""

import time
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...const import BILLING_STATUS_OF, BILLING_STATUSES, SUMMARY_LINES
from ..qbo_access import check_caller
from ..qbo_user_message import count_lines, qbo_user_errors

#: Seconds an interactive removal or release waits for QBO at most (throttles included).
INTERACTIVE_SECONDS = 60

#: What a line unbound from QBO goes back to.
_UNBOUND = {
    "qbo_state": "draft",
    "qbo_time_activity_id": False,
    "qbo_realm_id": False,
    "qbo_billing_status": False,
    "qbo_deleted_at": False,
    "qbo_error": False,
    "qbo_changed_since_export": False,
}


def _billed(activity):
    """Whether QBO says an invoice bills this TimeActivity."""
    return bool(activity) and activity.get("BillableStatus") == "HasBeenBilled"


class AccountAnalyticLine(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "account.analytic.line"  # pylint: disable=consider-merging-classes-inherited

    qbo_billing_status = fields.Selection(
        BILLING_STATUSES,
        string="QuickBooks Billing",
        copy=False,
        readonly=True,
        index=True,
        help="The TimeActivity's billing status in QuickBooks Online: set when it is "
        "exported, then kept current by the sync (webhook, daily, or Settings > Sync from "
        "QuickBooks). Billed time can never be removed from QuickBooks or unlocked.",
    )
    qbo_deleted_at = fields.Datetime(
        "Deleted in QuickBooks On",
        copy=False,
        readonly=True,
        help="When QuickBooks deleted this line's TimeActivity (as it notified it, else when "
        "the sync noticed).",
    )

    # ------------------------------------------------------------------ sync

    @api.model
    def _qbo_bound_activity_ids(self, company, only=None):
        """TimeActivity ids of ``company``'s exported lines in its current QBO company.

        ``only``: restrict to these ids (a webhook names them).
        """
        domain = [
            ("company_id", "=", company.id),
            ("qbo_realm_id", "=", company.sudo().qbo_realm_id),
            ("qbo_state", "=", "exported"),
        ]
        if only is not None:
            domain.append(("qbo_time_activity_id", "in", sorted(only)))
        rows = self.sudo().search_fetch(domain, ["qbo_time_activity_id"])
        return set(rows.mapped("qbo_time_activity_id"))

    @api.model
    def _qbo_apply_reading(self, company, reading, deleted_at=None):
        """Record a ``qbo.sync.Reading`` on ``company``'s exported lines: ``{what: count}``.

        Billing status from QBO's ``BillableStatus``; lines whose TimeActivity is
        gone are marked deleted. Idempotent: a reading applied twice changes
        nothing the second time. A line another transaction holds (a removal
        in progress) is left for the next sync. ``deleted_at``: ``{id: when}``
        QBO said it deleted them.
        """
        counts = {"billed": 0, "billing": 0, "deleted": 0}
        ids = set(reading.found) | set(reading.gone)
        if not ids:
            return counts
        lines = self.sudo().search(
            [
                ("company_id", "=", company.id),
                ("qbo_realm_id", "=", company.sudo().qbo_realm_id),
                ("qbo_state", "=", "exported"),
                ("qbo_time_activity_id", "in", sorted(ids)),
            ]
        )
        lines = lines.try_lock_for_update()
        by_status, deleted = defaultdict(list), lines.browse()
        for line in lines:
            row = reading.found.get(line.qbo_time_activity_id)
            if row is not None:
                status = BILLING_STATUS_OF.get(row.get("BillableStatus"))
                if status and status != line.qbo_billing_status:
                    by_status[status].append(line.id)
            elif line.qbo_time_activity_id in reading.gone:
                deleted |= line
        for status, line_ids in by_status.items():
            lines.browse(line_ids)._qbo_internal().write({"qbo_billing_status": status})
        deleted._qbo_mark_deleted(deleted_at or {})
        counts.update(
            billed=len(by_status.get("billed", [])),
            billing=sum(len(line_ids) for line_ids in by_status.values()),
            deleted=len(deleted),
        )
        return counts

    def _qbo_mark_deleted(self, deleted_at):
        """QBO no longer has these lines' TimeActivities: ``deleted``, locked, said on the
        line and in the chatter of its run. One statement for them all, as for bindings
        (``_qbo_mark_exported_many``)."""
        if not self:
            return
        noticed = fields.Datetime.now()
        whens = [deleted_at.get(line.qbo_time_activity_id) or noticed for line in self]
        messages = [
            self.env._(
                "Its TimeActivity %(qbo_id)s was deleted in QuickBooks Online (%(when)s UTC). "
                "It is not sent again; a QuickBooks manager can unlock it or export it again.",
                qbo_id=line.qbo_time_activity_id,
                when=fields.Datetime.to_string(when),
            )
            for line, when in zip(self, whens, strict=True)
        ]
        fields_set = ["qbo_state", "qbo_deleted_at", "qbo_error"]
        self.flush_recordset(fields_set)
        self.env.cr.execute(
            SQL(
                """UPDATE account_analytic_line AS line
                      SET qbo_state = 'deleted', qbo_deleted_at = gone.deleted_at,
                          qbo_error = gone.message,
                          write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                     FROM unnest(%(ids)s::int[], %(whens)s::timestamp[], %(messages)s::text[])
                          AS gone(id, deleted_at, message)
                    WHERE line.id = gone.id""",
                uid=self.env.uid,
                ids=self.ids,
                whens=whens,
                messages=messages,
            )
        )
        self.invalidate_recordset([*fields_set, "write_uid", "write_date"])
        self._qbo_post_on_runs(
            "noko_qbo.qbo_export_deleted_note",
            {"noticed": noticed},
        )

    # ------------------------------------------------------------------ remove

    def action_qbo_remove(self):
        """Delete these exported, unbilled lines' TimeActivities in QBO; the lines go back
        to draft (QuickBooks managers).

        All lines are checked before anything is deleted (state, billed in Odoo,
        then billed in QBO now, by one batched read per company): a refusal
        changes nothing. Each delete carries the SyncToken of the copy checked,
        so time billed in QBO in the meantime is refused by QBO, not deleted.
        If QBO fails half-way, the lines already removed stay removed (drafts
        whose TimeActivity is gone) and the answer names the line that failed.
        """
        check_caller(self, "write")
        lines = self.sudo()
        lines._qbo_lock_rows()
        lines.invalidate_recordset()
        lines._qbo_check_removable()
        deadline = time.monotonic() + INTERACTIVE_SECONDS
        plans = [lines._qbo_removal_plan(company, deadline) for company in lines.company_id]
        removed, failure = lines.browse(), None
        for company_lines, client, current in plans:
            done, failure = company_lines._qbo_remove_planned(client, current, deadline)
            removed |= done
            if failure:
                break
        if failure and not removed:
            raise failure
        removed._qbo_release("noko_qbo.qbo_export_removed_note")
        return self._qbo_removal_notification(removed, failure)

    def _qbo_check_removable(self):
        """Refuse, naming the first line, what must not be removed (nothing was asked of QBO)."""
        outside = self.filtered(lambda line: line.qbo_state not in ("exported", "deleted"))
        if outside:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s is not in QuickBooks Online: there is nothing "
                    "to remove.",
                    line=outside[0]._qbo_label(),
                )
            )
        self._qbo_check_not_billed(self.env._("removed from QuickBooks"))
        elsewhere = self.filtered(
            lambda line: line.qbo_realm_id != line.company_id.sudo().qbo_realm_id
        )
        if elsewhere:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s was exported to another QuickBooks company "
                    "(%(realm)s) than the one %(company)s is connected to: it cannot be removed "
                    "from here.",
                    line=elsewhere[0]._qbo_label(),
                    realm=elsewhere[0].qbo_realm_id,
                    company=elsewhere[0].company_id.name,
                )
            )

    def _qbo_check_not_billed(self, what):
        billed = self.filtered(lambda line: line.qbo_billing_status == "billed")
        if billed:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s is billed in QuickBooks Online (TimeActivity "
                    "%(qbo_id)s): billed time cannot be %(what)s.",
                    line=billed[0]._qbo_label(),
                    qbo_id=billed[0].qbo_time_activity_id,
                    what=what,
                )
            )

    def _qbo_removal_plan(self, company, deadline):
        """``(lines, client, {id: TimeActivity})``: this company's lines and QBO's copies now.

        One read per 100 lines; refuses (nothing deleted yet) when QBO cannot be
        reached or has billed one of them since the last sync.
        """
        lines = self.filtered(lambda line: line.company_id == company)
        with qbo_user_errors(self.env, lambda text: lines._qbo_needs_qbo(company, text)):
            client = company._qbo_client()
            rows = client.time_activities_by_ids(
                lines.mapped("qbo_time_activity_id"), deadline=deadline
            )
        current = {str(row["Id"]): row for row in rows}
        billed = lines.filtered(lambda line: _billed(current.get(line.qbo_time_activity_id)))
        if billed:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s was billed in QuickBooks Online since the last "
                    "sync (TimeActivity %(qbo_id)s): billed time cannot be removed.",
                    line=billed[0]._qbo_label(),
                    qbo_id=billed[0].qbo_time_activity_id,
                )
            )
        return lines, client, current

    def _qbo_remove_planned(self, client, current, deadline):
        """Delete, line by line, what QBO still has: ``(removed lines, UserError or None)``."""
        removed = self.browse()
        for line in self:
            activity_id = line.qbo_time_activity_id
            if activity_id not in current:  # gone already (an earlier try, a QBO user)
                removed |= line
                continue
            try:
                with qbo_user_errors(self.env, line._qbo_remove_failed):
                    kept = client.remove_time_activity(
                        activity_id, current=current[activity_id], keep=_billed, deadline=deadline
                    )
                if _billed(kept):
                    raise UserError(
                        self.env._(
                            "The timesheet line %(line)s was billed in QuickBooks Online a "
                            "moment ago (TimeActivity %(qbo_id)s): it was not removed.",
                            line=line._qbo_label(),
                            qbo_id=activity_id,
                        )
                    )
            except UserError as error:
                return removed, error
            removed |= line
        return removed, None

    def _qbo_remove_failed(self, text):
        return self.env._(
            "The timesheet line %(line)s could not be removed from QuickBooks Online: %(error)s",
            line=self._qbo_label(),
            error=text,
        )

    def _qbo_needs_qbo_explainer(self, company):
        return lambda text: self._qbo_needs_qbo(company, text)

    def _qbo_needs_qbo(self, company, text):
        more = (
            self.env._(" (and %(count)s more)", count=count_lines(self.env, len(self) - 1))
            if len(self) > 1
            else ""
        )
        return self.env._(
            "The timesheet line %(line)s%(more)s was left as it is: this needs the connection "
            "to QuickBooks Online of %(company)s, which first checks its TimeActivity. %(error)s",
            line=self[:1]._qbo_label() if self else "-",
            more=more,
            company=company.name,
            error=text,
        )

    def _qbo_removal_notification(self, removed, failure):
        if failure:
            message = self.env._(
                "%(count)s removed from QuickBooks Online (back to draft). Stopped at: %(error)s",
                count=count_lines(self.env, len(removed)),
                error=failure.args[0],
            )
        else:
            message = self.env._(
                "%(count)s removed from QuickBooks Online: drafts again, to edit or export again.",
                count=count_lines(self.env, len(removed)),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if failure else "success",
                "sticky": bool(failure),
                "message": message,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ deleted in QBO

    def _qbo_release_deleted(self):
        """Lines deleted in QBO, released once QBO confirms it: ``(still in QBO, released)``.

        Those QBO still returns (a sync mistook them) are bound as exported
        again; the others go back to draft. Billed lines are refused.
        """
        if not self:
            return self, self
        self._qbo_check_not_billed(self.env._("unlocked or exported again"))
        deadline = time.monotonic() + INTERACTIVE_SECONDS
        still = self.browse()
        for company in self.company_id:
            lines = self.filtered(lambda line, company=company: line.company_id == company)
            explain = lines._qbo_needs_qbo_explainer(company)
            with qbo_user_errors(self.env, explain):
                rows = company._qbo_client().time_activities_by_ids(
                    lines.mapped("qbo_time_activity_id"), deadline=deadline
                )
            current = {str(row["Id"]): row for row in rows}
            realm = company.sudo().qbo_realm_id
            kept = {
                line: (line.qbo_time_activity_id, False, row.get("BillableStatus"))
                for line in lines
                if (row := current.get(line.qbo_time_activity_id)) is not None
                and line.qbo_realm_id == realm
            }
            self._qbo_mark_exported_many(kept)
            still |= self.browse([line.id for line in kept])
        released = self - still
        released._qbo_release("noko_qbo.qbo_export_released_note")
        return still, released

    def action_qbo_export_again(self):
        """Deleted in QBO → back to draft and straight into the export preview (managers).

        The deliberate way to send such a line again; cancelling the preview
        leaves it draft (as Unlock would).
        """
        check_caller(self, "write")
        lines = self.sudo()
        lines._qbo_lock_rows()
        lines.invalidate_recordset()
        others = lines.filtered(lambda line: line.qbo_state != "deleted")
        if others:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s was not deleted in QuickBooks Online: export "
                    "it with Export to QuickBooks Online.",
                    line=others[0]._qbo_label(),
                )
            )
        still, released = lines._qbo_release_deleted()
        if not released:
            return self._qbo_unlock_notification(still, released)
        preview = self.env["qbo.export.preview"].with_context(
            active_model=self._name, active_ids=released.ids, active_domain=None
        )
        return preview.action_open_from_timesheets()

    # ------------------------------------------------------------------ shared

    def _qbo_release(self, template):
        """Back to draft, unbound from QBO; the chatter of each line's run says so."""
        if not self:
            return
        self._qbo_post_on_runs(template, {"user": self.env.user, "when": fields.Datetime.now()})
        self._qbo_internal().write(dict(_UNBOUND))

    def _qbo_post_on_runs(self, template, values):
        """Post ``template`` on the run of each line (the run that approved it last)."""
        for run in self.qbo_export_id:
            lines = self.filtered(lambda line, run=run: line.qbo_export_id == run)
            run.message_post_with_source(
                template,
                render_values={
                    "lines": lines,
                    "count": count_lines(self.env, len(lines)),
                    "shown": SUMMARY_LINES,
                    **values,
                },
                subtype_xmlid="mail.mt_note",
            )
