"""Timesheet lines on their way to QuickBooks Online: states and the lock.

A line moves ``draft`` → ``approved`` (locked, waiting for QBO) → ``exported``
(locked, in QBO). A locked line keeps every business field as it was approved,
whatever path would change it: a write (``_check_can_write``, hr_timesheet's
hook), a deletion, or a recomputation triggered elsewhere (a project's partner,
an employee's user, a task moved to another project: ``_compute_field_value``).
Only the export code (:meth:`_qbo_internal`) and the explicit unlock may
change a locked line.
"""

from odoo import api, fields, models
from odoo.exceptions import LockError, UserError
from odoo.tools import SQL

from ...const import LINE_STATES, LOCKED_STATES, MANAGER_GROUP
from ..qbo_user_message import count_lines

#: Context key of the internal path. Its value is a Python object that no JSON-RPC,
#: XML-RPC or ``with_context(**json)`` can produce: a caller cannot forge it.
QBO_INTERNAL_KEY = "noko_qbo_internal"
_INTERNAL = object()

#: Fields only the export code writes.
QBO_BOOKKEEPING_FIELDS = frozenset(
    {
        "qbo_state",
        "qbo_time_activity_id",
        "qbo_realm_id",
        "qbo_export_id",
        "qbo_error",
        "qbo_changed_since_export",
        "qbo_billing_status",
        "qbo_deleted_at",
    }
)


class AccountAnalyticLine(models.Model):
    _inherit = "account.analytic.line"

    qbo_state = fields.Selection(
        LINE_STATES,
        string="QuickBooks",
        default="draft",
        required=True,
        copy=False,
        index=True,
        readonly=True,
        help="Not exported: free to edit. Approved: locked, waiting to be sent to QuickBooks "
        "Online. Exported: locked, stored in QuickBooks Online. Deleted in QuickBooks: "
        "someone deleted its TimeActivity in QuickBooks; locked, not sent again until a "
        "QuickBooks manager unlocks it or exports it again.",
    )
    qbo_time_activity_id = fields.Char(
        string="QuickBooks TimeActivity",
        copy=False,
        readonly=True,
        index="btree_not_null",
    )
    qbo_realm_id = fields.Char(
        string="QuickBooks Company Id",
        copy=False,
        readonly=True,
        help="The QuickBooks Online company (realm) the TimeActivity is in: its Ids are "
        "unique per QuickBooks company only.",
    )
    qbo_export_id = fields.Many2one(
        "qbo.export",
        string="QuickBooks Export",
        copy=False,
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        # Runs list other people's lines: only those who may read runs see the link.
        groups=MANAGER_GROUP,
        help="The export run that approved this line last.",
    )
    qbo_error = fields.Text(
        string="QuickBooks Problem",
        copy=False,
        readonly=True,
        help="Why the last export run could not send this line.",
    )

    qbo_changed_since_export = fields.Boolean(
        string="Changed Since Export",
        copy=False,
        readonly=True,
        help="QuickBooks holds this line, but as it was before a later change in Odoo (an edit "
        "after an unlock or a reinstall): check the TimeActivity in QuickBooks.",
    )

    _qbo_time_activity_uniq = models.Constraint(
        "UNIQUE(company_id, qbo_realm_id, qbo_time_activity_id)",
        "A QuickBooks TimeActivity can be bound to one timesheet line only.",
    )

    # ------------------------------------------------------------------ internal path

    def _qbo_internal(self):
        """These records, allowed through the lock: for the export code only."""
        return self.with_context(**{QBO_INTERNAL_KEY: _INTERNAL})

    def _qbo_in_internal_path(self):
        return self.env.context.get(QBO_INTERNAL_KEY) is _INTERNAL

    # ------------------------------------------------------------------ what is locked

    @api.model
    def _qbo_locked_fields(self):
        """Business fields frozen on approved and exported lines.

        Hook: override to freeze more fields (e.g. the sales order line).
        """
        return {
            "name",
            "date",
            "unit_amount",
            "amount",
            "user_id",
            "employee_id",
            "project_id",
            "task_id",
            "company_id",
            "account_id",
            "partner_id",
            "product_uom_id",
            "analytic_distribution",
        }

    @api.model
    def _qbo_recompute_refused_fields(self):
        """Locked fields whose recomputation is refused rather than ignored.

        Keeping the old value would contradict Odoo's own links (a task moved to
        another project keeps its timesheets on the task's project): the change
        that triggered the recomputation is refused instead, naming the lines.
        Hook: override to add fields.
        """
        return {"project_id", "task_id", "company_id", "account_id"}

    def _qbo_locked(self):
        """The lines of ``self`` that are approved or exported (whoever may read them)."""
        return self.filtered(lambda line: line.sudo().qbo_state in LOCKED_STATES)

    def _is_readonly(self):
        return super()._is_readonly() or self.qbo_state != "draft"

    # ------------------------------------------------------------------ guards

    @api.model_create_multi
    def create(self, vals_list):
        if not self._qbo_in_internal_path():
            for vals in vals_list:
                self._qbo_check_create_values(vals)
        return super().create(vals_list)

    @api.model
    def _qbo_check_create_values(self, vals):
        """A new line starts as draft: no other bookkeeping value may be given."""
        given = {name: vals[name] for name in QBO_BOOKKEEPING_FIELDS & set(vals)}
        state = given.pop("qbo_state", False)
        if state not in (False, "draft") or any(given.values()):
            raise UserError(
                self.env._(
                    "The QuickBooks Online state of a timesheet line is set by the export only."
                )
            )

    def _check_can_write(self, values):
        if not self._qbo_in_internal_path():
            if QBO_BOOKKEEPING_FIELDS & set(values):
                raise UserError(
                    self.env._(
                        "The QuickBooks Online state of a timesheet line is set by the export "
                        "only. To release an approved line, use Unlock."
                    )
                )
            if self._qbo_locked_fields() & set(values):
                self._qbo_check_not_locked()
        return super()._check_can_write(values)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_qbo_locked(self):
        if not self._qbo_in_internal_path():
            self._qbo_check_not_locked(deleting=True)

    def _compute_field_value(self, field):
        """Recomputations never change a locked line (see the module docstring)."""
        locked_names = self._qbo_locked_fields()
        frozen_fields = [
            computed
            for computed in self.pool.field_computed.get(field, [field])
            if computed.store and computed.name in locked_names
        ]
        locked = self._qbo_locked() if frozen_fields and not self._qbo_in_internal_path() else None
        if not locked:
            return super()._compute_field_value(field)
        before = {(f.name, line.id): line[f.name] for f in frozen_fields for line in locked}
        super()._compute_field_value(field)
        changed = [
            (f, line)
            for f in frozen_fields
            for line in locked
            if line[f.name] != before[f.name, line.id]
        ]
        refused = [line for f, line in changed if f.name in self._qbo_recompute_refused_fields()]
        if refused:
            self.browse([line.id for line in refused])._qbo_check_not_locked()
        for f, line in changed:
            line[f.name] = before[f.name, line.id]

    def onchange(self, values, field_names, fields_spec):
        """A locked line's form changes nothing: no value comes back.

        Recomputations are frozen above; this also covers onchange methods
        (hr_timesheet empties the task when the project changes) and answers
        instead of refusing a change the write would refuse anyway.
        """
        if self:
            self.check_access("read")
            if self._qbo_locked():
                return {"value": {}}
        return super().onchange(values, field_names, fields_spec)

    @api.model
    def _qbo_check_kept_by_locked_lines(self, field_name, records):
        """Refuse deleting ``records`` while locked lines point to them through ``field_name``.

        The database would empty the lines' field (``ON DELETE SET NULL``), past every
        guard of the ORM: for the records whose deletion does that (employees, partners).
        """
        lines = self.sudo().search(
            [(field_name, "in", records.ids), ("qbo_state", "in", list(LOCKED_STATES))]
        )
        lines._qbo_check_not_locked()

    def _qbo_check_not_locked(self, deleting=False):
        """Raise, naming the first locked line, when any line of ``self`` is locked."""
        locked = self._qbo_locked().sudo()
        if not locked:
            return
        line = locked[0]
        if line.qbo_state == "exported":
            reason = self.env._(
                "it is exported to QuickBooks Online (TimeActivity %(qbo_id)s)",
                qbo_id=line.qbo_time_activity_id or "?",
            )
        elif line.qbo_state == "deleted":
            reason = self.env._(
                "its TimeActivity %(qbo_id)s was deleted in QuickBooks Online; a QuickBooks "
                "manager can unlock it or export it again",
                qbo_id=line.qbo_time_activity_id or "?",
            )
        else:
            reason = self.env._(
                "it is approved for QuickBooks Online and waiting to be sent (%(run)s); "
                "a QuickBooks manager can unlock it until it is exported",
                run=line.qbo_export_id.display_name or "-",
            )
        more = (
            self.env._(" (and %(count)s more locked)", count=count_lines(self.env, len(locked) - 1))
            if len(locked) > 1
            else ""
        )
        template = (
            self.env._("You cannot delete the timesheet line %(line)s: %(reason)s.%(more)s")
            if deleting
            else self.env._("You cannot change the timesheet line %(line)s: %(reason)s.%(more)s")
        )
        raise UserError(template % {"line": line._qbo_label(), "reason": reason, "more": more})

    def _qbo_label(self):
        """'2025-03-03, Emily Platt, Website' : how messages name a line."""
        self.ensure_one()
        line = self.sudo()
        parts = [
            fields.Date.to_string(line.date) or "",
            line.employee_id.name or line.user_id.name or "",
            line.project_id.display_name or "",
        ]
        return ", ".join(part for part in parts if part)

    def _qbo_mark_approved(self, run):
        """Approved and locked, waiting to be sent by ``run``: one statement for them all.

        Bookkeeping fields no other field depends on (see ``_qbo_mark_exported_many``);
        an ORM write through hr_timesheet's would cost seconds for 10,000 lines.
        """
        if not self:
            return
        fields_set = ["qbo_state", "qbo_export_id", "qbo_error"]
        self.flush_recordset(fields_set)
        self.env.cr.execute(
            SQL(
                """UPDATE account_analytic_line
                      SET qbo_state = 'approved', qbo_export_id = %(run)s, qbo_error = NULL,
                          write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                    WHERE id = ANY(%(ids)s)""",
                run=run.id,
                uid=self.env.uid,
                ids=self.ids,
            )
        )
        self.invalidate_recordset([*fields_set, "write_uid", "write_date"])
        run.invalidate_recordset(["timesheet_ids"])

    def _qbo_lock_rows(self):
        """Row-lock the lines so a running export, a confirmation and an unlock never cross.

        A line held by another transaction (an export job sending it) raises a
        ``UserError`` at once instead of waiting.
        """
        try:
            self.lock_for_update()
        except LockError as exc:
            raise UserError(
                self.env._(
                    "Some of these timesheet lines are being sent to QuickBooks Online right "
                    "now. Try again in a minute."
                )
            ) from exc
