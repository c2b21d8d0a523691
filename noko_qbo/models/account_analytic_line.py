"""Timesheet lines on their way to QuickBooks Online: states, the lock, the TimeActivity plan.

A line moves ``draft`` → ``approved`` (locked, waiting for QBO) → ``exported``
(locked, in QBO). Only the export code (see :meth:`_qbo_internal`) and the
explicit unlock of an approved, unexported line may change a locked line.
"""

import hashlib
from collections import namedtuple

from psycopg2.errors import LockNotAvailable

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..qbo import payloads
from ..qbo.errors import QboFault

#: Context key of the internal path. Its value is a Python object that no JSON-RPC,
#: XML-RPC or ``with_context(**json)`` can produce: a caller cannot forge it.
QBO_INTERNAL_KEY = "noko_qbo_internal"
_INTERNAL = object()

QBO_STATES = [
    ("draft", "Not exported"),
    ("approved", "Approved (waiting)"),
    ("exported", "Exported"),
]

#: Fields only the export code writes.
QBO_BOOKKEEPING_FIELDS = frozenset(
    {"qbo_state", "qbo_time_activity_id", "qbo_realm_id", "qbo_export_id", "qbo_error"}
)

Problem = namedtuple("Problem", "code message blocking fix_model fix_id")
Problem.__doc__ = """Why a line will not be sent (``blocking``) or will be sent changed.

``fix_model``/``fix_id`` name the record to open to fix it (project, employee,
company settings), or are empty.
"""

TimeActivityPlan = namedtuple(
    "TimeActivityPlan",
    "line_id customer payee item qbo_class billable hourly_rate minutes description problems",
)
TimeActivityPlan.__doc__ = """What one timesheet line becomes in QBO, decided without asking QBO.

``customer``/``payee``/``item``/``qbo_class`` are cache records (possibly empty),
``minutes`` the rounded duration, ``problems`` a list of :class:`Problem`.
"""


def plan_is_blocked(plan):
    return any(problem.blocking for problem in plan.problems)


class AccountAnalyticLine(models.Model):
    _inherit = "account.analytic.line"

    qbo_state = fields.Selection(
        QBO_STATES,
        string="QuickBooks",
        default="draft",
        required=True,
        copy=False,
        index=True,
        readonly=True,
        help="Not exported: free to edit. Approved: locked, waiting to be sent to QuickBooks "
        "Online. Exported: locked, stored in QuickBooks Online.",
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
        help="The export run that approved this line last.",
    )
    qbo_error = fields.Text(
        string="QuickBooks Problem",
        copy=False,
        readonly=True,
        help="Why the last export run could not send this line.",
    )

    _qbo_time_activity_uniq = models.Constraint(
        "UNIQUE(company_id, qbo_realm_id, qbo_time_activity_id)",
        "A QuickBooks TimeActivity can be bound to one timesheet line only.",
    )

    # ------------------------------------------------------------------ internal path

    def _qbo_internal(self):
        """These records, allowed through the lock: for the export code only."""
        return self.with_context(**{QBO_INTERNAL_KEY: _INTERNAL})

    def _qbo_is_internal(self):
        return self.env.context.get(QBO_INTERNAL_KEY) is _INTERNAL

    # ------------------------------------------------------------------ lock

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

    def _is_readonly(self):
        return super()._is_readonly() or self.qbo_state != "draft"

    @api.model_create_multi
    def create(self, vals_list):
        if not self._qbo_is_internal():
            for vals in vals_list:
                if QBO_BOOKKEEPING_FIELDS & set(vals) and any(
                    vals[name] and vals[name] != "draft"
                    for name in QBO_BOOKKEEPING_FIELDS & set(vals)
                ):
                    raise UserError(
                        self.env._(
                            "The QuickBooks Online state of a timesheet line is set by the "
                            "export only."
                        )
                    )
        return super().create(vals_list)

    def write(self, vals):
        self._qbo_check_write(vals)
        return super().write(vals)

    def _qbo_check_write(self, vals):
        if self._qbo_is_internal():
            return
        if QBO_BOOKKEEPING_FIELDS & set(vals):
            raise UserError(
                self.env._(
                    "The QuickBooks Online state of a timesheet line is set by the export "
                    "only. To release an approved line, use Unlock."
                )
            )
        if self._qbo_locked_fields() & set(vals):
            self._qbo_check_not_locked()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_qbo_locked(self):
        if not self._qbo_is_internal():
            self._qbo_check_not_locked(deleting=True)

    def _qbo_check_not_locked(self, deleting=False):
        """Raise, naming the first locked line, when any line of ``self`` is locked."""
        locked = self.sudo().filtered(lambda line: line.qbo_state != "draft")
        if not locked:
            return
        line = locked[0]
        if line.qbo_state == "exported":
            reason = self.env._(
                "it is exported to QuickBooks Online (TimeActivity %(qbo_id)s)",
                qbo_id=line.qbo_time_activity_id or "?",
            )
        else:
            reason = self.env._(
                "it is approved for QuickBooks Online and waiting to be sent (%(run)s); "
                "a QuickBooks manager can unlock it until it is exported",
                run=line.qbo_export_id.display_name or "-",
            )
        more = (
            self.env._(" (and %(count)s more locked lines)", count=len(locked) - 1)
            if len(locked) > 1
            else ""
        )
        if deleting:
            message = self.env._(
                "You cannot delete the timesheet line %(line)s: %(reason)s.%(more)s",
                line=line._qbo_label(),
                reason=reason,
                more=more,
            )
        else:
            message = self.env._(
                "You cannot change the timesheet line %(line)s: %(reason)s.%(more)s",
                line=line._qbo_label(),
                reason=reason,
                more=more,
            )
        raise UserError(message)

    def _qbo_label(self):
        """'2025-03-03, Emily Platt, Website' : how messages name a line."""
        self.ensure_one()
        parts = [
            fields.Date.to_string(self.date) or "",
            self.employee_id.name or self.user_id.name or "",
            self.project_id.display_name or "",
        ]
        return ", ".join(part for part in parts if part)

    # ------------------------------------------------------------------ unlock

    def action_qbo_unlock(self):
        """Back to draft: approved lines that QBO has not received yet (QuickBooks managers)."""
        if not self.env.user.has_group("noko_qbo.group_qbo_manager"):
            raise AccessError(self.env._("Only QuickBooks managers can unlock timesheet lines."))
        lines = self.sudo()
        lines._qbo_lock_rows(nowait=True)
        lines.invalidate_recordset(["qbo_state", "qbo_time_activity_id", "qbo_export_id"])
        exported = lines.filtered(
            lambda line: line.qbo_state == "exported" or line.qbo_time_activity_id
        )
        if exported:
            raise UserError(
                self.env._(
                    "The timesheet line %(line)s is already in QuickBooks Online: it cannot "
                    "be unlocked.",
                    line=exported[0]._qbo_label(),
                )
            )
        approved = lines.filtered(lambda line: line.qbo_state == "approved")
        in_qbo = approved._qbo_bind_already_sent()
        unlocked = approved - in_qbo
        runs = unlocked.qbo_export_id
        unlocked._qbo_internal().write({"qbo_state": "draft", "qbo_error": False})
        runs._qbo_record_unlock(unlocked)
        if in_qbo:
            message = self.env._(
                "%(found)s of these lines were already in QuickBooks Online (an interrupted "
                "export had sent them): they are now marked exported and stay locked. "
                "%(unlocked)s lines were unlocked.",
                found=len(in_qbo),
                unlocked=len(unlocked),
            )
        else:
            message = self.env._(
                "%(count)s lines unlocked: they can be edited again.", count=len(unlocked)
            )
        # The Action menu's server action hands this on to the web client: always an action.
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
            try:
                found = company._qbo_client().find_time_activities(
                    {key: fields.Date.to_string(line.date) for key, line in keys.items()}
                )
            except (QboFault, UserError) as error:
                raise UserError(
                    self.env._(
                        "Unlocking needs the connection to QuickBooks Online of %(company)s: "
                        "it first checks that an interrupted export did not send these lines "
                        "already. %(error)s",
                        company=company.name,
                        error=error.summary() if isinstance(error, QboFault) else str(error),
                    )
                ) from error
            for key, stored in found.items():
                keys[key]._qbo_bind(stored["Id"])
                bound |= keys[key]
        return bound

    def _qbo_bind(self, qbo_id, outcome="reconciled"):
        """Record that QBO holds this line as TimeActivity ``qbo_id``, in its current run too."""
        self.ensure_one()
        result = (
            self.env["qbo.export.line"]
            .sudo()
            .search([("line_id", "=", self.id), ("export_id", "=", self.qbo_export_id.id)], limit=1)
        )
        if result:
            result._qbo_set_exported(qbo_id, outcome)
        else:
            self._qbo_internal().write(
                {
                    "qbo_state": "exported",
                    "qbo_time_activity_id": qbo_id,
                    "qbo_realm_id": self.company_id.sudo().qbo_realm_id,
                    "qbo_error": False,
                }
            )

    def _qbo_lock_rows(self, nowait=False):
        """Row-lock the lines so a running export and an unlock never cross.

        With ``nowait``, a line held by another transaction (an export job sending it)
        raises a UserError instead of waiting.
        """
        if not self.ids:
            return
        query = "SELECT id FROM account_analytic_line WHERE id = ANY(%s) FOR UPDATE"
        if not nowait:
            self.env.cr.execute(query, [self.ids])
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query + " NOWAIT", [self.ids])
        except LockNotAvailable as exc:
            raise UserError(
                self.env._(
                    "Some of these timesheet lines are being sent to QuickBooks Online right "
                    "now. Try again in a minute."
                )
            ) from exc

    # ------------------------------------------------------------------ the plan

    def _qbo_request_key(self):
        """The stable key of a line for QBO: a retry after any failure replays it.

        Database uuid + line id: unique across databases that share a realm
        (production and a restored copy), and the same on every attempt.
        """
        self.ensure_one()
        dbuuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return f"{hashlib.sha1(dbuuid.encode()).hexdigest()[:8]}-{self.id}"

    @api.model
    def _qbo_duration_minutes(self, unit_amount):
        """Hours as a float → whole minutes (rounded), what QBO's Hours/Minutes can carry."""
        return round((unit_amount or 0.0) * 60)

    def _qbo_time_activity_plans(self, company):
        """``{line_id: TimeActivityPlan}`` for the lines, in a few set-based queries.

        Mappings are resolved now (project → customer, employee → payee), so a mapping
        fixed after the preview counts at send time.
        """
        lines = self.with_context(active_test=False)
        lines.fetch(
            [
                "date",
                "unit_amount",
                "name",
                "project_id",
                "employee_id",
                "company_id",
                "qbo_state",
                "qbo_time_activity_id",
            ]
        )
        projects = lines.project_id.sudo()
        employees = lines.employee_id.sudo()
        customers = projects._qbo_resolve_customers() if projects else {}
        payees = employees._qbo_resolve_payees() if employees else {}
        projects.fetch(["qbo_item_id", "qbo_class_id"])
        default_item = company.sudo().qbo_default_item_id
        over_day = lines._qbo_overbooked_days()
        plans = {}
        for line in lines:
            plans[line.id] = line._qbo_plan_line(company, customers, payees, default_item, over_day)
        return plans

    def _qbo_plan_line(self, company, customers, payees, default_item, over_day):
        """One line's plan. Hook: override to add problems or change the mapping."""
        self.ensure_one()
        problems = []
        customer, payee = self.env["qbo.customer"], self.env["qbo.payee"]
        item, qbo_class = self.env["qbo.item"], self.env["qbo.class"]
        skip = self._qbo_skip_reason(company)
        if skip:
            problems.append(Problem("skipped", skip, True, "", 0))
        else:
            customer = self._qbo_plan_mapping(
                customers.get(self.project_id.id), "project.project", self.project_id, problems
            )
            payee = self._qbo_plan_mapping(
                payees.get(self.employee_id.id), "hr.employee", self.employee_id, problems
            )
            item, qbo_class = self._qbo_plan_item(default_item, problems)
        minutes = self._qbo_duration_minutes(self.unit_amount)
        if (self.employee_id.id, self.date) in over_day:
            problems.append(
                Problem(
                    "over_24h",
                    self.env._(
                        "%(employee)s has more than 24 hours on %(date)s.",
                        employee=self.employee_id.name,
                        date=fields.Date.to_string(self.date),
                    ),
                    False,
                    "hr.employee",
                    self.employee_id.id,
                )
            )
        description = self.name or ""
        if description == "/":
            description = ""
        if len(description) > payloads.DESCRIPTION_MAX:
            description = description[: payloads.DESCRIPTION_MAX]
            problems.append(
                Problem(
                    "description_truncated",
                    self.env._(
                        "Description longer than %(max)s characters: it will be truncated.",
                        max=payloads.DESCRIPTION_MAX,
                    ),
                    False,
                    "",
                    0,
                )
            )
        billable, rate = self._qbo_billing(customer, payee, item)
        if (
            customer
            and payee
            and payee.billable_time
            and self.project_id.partner_id
            and not billable
        ):
            problems.append(
                Problem(
                    "no_rate",
                    self.env._(
                        "No billing rate in QuickBooks (bill rate of %(payee)s or the service "
                        "item's price): sent as not billable.",
                        payee=payee.display_name,
                    ),
                    False,
                    "",
                    0,
                )
            )
        return TimeActivityPlan(
            self.id,
            customer,
            payee,
            item,
            qbo_class,
            billable,
            rate,
            minutes,
            description,
            problems,
        )

    def _qbo_skip_reason(self, company):
        """Why an export of ``company`` leaves this line alone (not approved, not locked).

        One rule for the preview, which shows the line as skipped, and for the
        confirmation, which records it as skipped: '' when the line is to be sent.
        """
        self.ensure_one()
        if self.company_id != company:
            return self.env._(
                "Belongs to %(company)s: export it from that company.",
                company=self.company_id.name,
            )
        if self.qbo_state == "exported" or self.qbo_time_activity_id:
            return self.env._(
                "Already in QuickBooks Online (TimeActivity %(qbo_id)s): not sent again.",
                qbo_id=self.qbo_time_activity_id or "?",
            )
        if self._qbo_duration_minutes(self.unit_amount) <= 0:
            # Nothing QBO could hold: locking it would only keep it from being corrected.
            return self.env._("No duration: nothing to send (left unlocked).")
        return ""

    def _qbo_plan_mapping(self, resolution, fix_model, fix_record, problems):
        """The cache record a resolution found, or a blocking problem linking to the fix."""
        if not fix_record:
            label = (
                self.env._("No project: only project timesheets can be exported.")
                if fix_model == "project.project"
                else self.env._("No employee on the line.")
            )
            problems.append(Problem("no_" + fix_model, label, True, "", 0))
            return None
        if resolution is None or resolution.how in ("missing", "ambiguous", "inactive"):
            message = resolution.message if resolution else self.env._("Not mapped.")
            code = f"{fix_model}_{resolution.how if resolution else 'missing'}"
            problems.append(Problem(code, message, True, fix_model, fix_record.id))
            return None
        return resolution.record

    def _qbo_plan_item(self, default_item, problems):
        """Service item (the project's, else the company default) and class of the project."""
        project = self.project_id.sudo()
        item = project.qbo_item_id or default_item
        if item and not item.active_in_qbo:
            problems.append(
                Problem(
                    "item_inactive",
                    self.env._(
                        "The service item %(item)s is inactive in QuickBooks Online.",
                        item=item.name,
                    ),
                    True,
                    "project.project" if project.qbo_item_id else "res.company",
                    project.id if project.qbo_item_id else self.company_id.id,
                )
            )
        qbo_class = project.qbo_class_id
        if qbo_class and not qbo_class.active_in_qbo:
            problems.append(
                Problem(
                    "class_inactive",
                    self.env._(
                        "The class %(name)s is inactive in QuickBooks Online.", name=qbo_class.name
                    ),
                    True,
                    "project.project",
                    project.id,
                )
            )
        return item, qbo_class

    def _qbo_billing(self, customer, payee, item):
        """``(billable, hourly_rate)``: the billable policy (see readme/USAGE.md).

        Time is billable when it goes to a QBO customer and its Odoo project bills a
        customer (has a partner), unless QBO says the employee's time is not billable.
        The rate is QBO's own, as its time entry screen picks it: the employee's or
        vendor's bill rate, else the service item's sales price. Without a rate it is
        sent not billable (QBO requires a rate on billable time).
        Hook: override to take the rate from a price list or a sales order.
        """
        if not customer or not payee or not self.project_id.partner_id:
            return False, None
        if not payee.billable_time:
            return False, None
        rate = payee.bill_rate or (item.unit_price if item else 0.0)
        if rate > 0:
            return True, rate
        return False, None

    def _qbo_overbooked_days(self):
        """``{(employee_id, date)}`` where one person has more than 24 h of timesheets."""
        employees = self.employee_id
        dates = [date for date in self.mapped("date") if date]
        if not employees or not dates:
            return set()
        groups = self.sudo()._read_group(
            [
                ("employee_id", "in", employees.ids),
                ("date", ">=", min(dates)),
                ("date", "<=", max(dates)),
                ("project_id", "!=", False),
            ],
            ["employee_id", "date:day"],
            ["unit_amount:sum"],
            having=[("unit_amount:sum", ">", 24)],
        )
        return {(employee.id, day) for employee, day, _total in groups}

    def _qbo_time_activity_payload(self, plan):
        """The TimeActivity dict for a plan without blocking problems."""
        self.ensure_one()
        hours, minutes = divmod(plan.minutes, 60)
        payee_type = "Vendor" if plan.payee.payee_type == "vendor" else "Employee"
        return payloads.build_time_activity(
            fields.Date.to_string(self.date),
            payee_type,
            plan.payee.qbo_id,
            hours=hours,
            minutes=minutes,
            customer_id=plan.customer.qbo_id if plan.customer else None,
            item_id=plan.item.qbo_id if plan.item else None,
            class_id=plan.qbo_class.qbo_id if plan.qbo_class else None,
            description=plan.description,
            billable=plan.billable,
            hourly_rate=plan.hourly_rate if plan.billable else None,
        )
