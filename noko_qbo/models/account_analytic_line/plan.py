"""What a timesheet line becomes in QBO: its plan (mapping, item, billing, problems) and payload.

Decided without asking QBO, set-based over thousands of lines: the preview
shows plans, the confirmation records the skipped lines, and each export job
plans again at send time (a mapping fixed after the preview counts).
"""

import hashlib
from dataclasses import dataclass, field

from odoo import api, fields, models

from ...qbo import payloads
from ..qbo_mapping import UNRESOLVED


@dataclass(frozen=True)
class Problem:
    """Why a line will not be sent (``blocking``) or will be sent changed.

    ``code`` groups problems of one cause (the preview shows one row per code
    and record to fix); ``fix_model``/``fix_id`` name the record to open to fix
    it (project, employee, company settings), or are empty.
    """

    code: str
    message: str
    blocking: bool = False
    fix_model: str = ""
    fix_id: int = 0


@dataclass
class TimeActivityPlan:
    """What one timesheet line becomes in QBO.

    ``customer``/``payee``/``item``/``qbo_class`` are cache records (possibly
    empty), ``minutes`` the rounded duration.
    """

    line_id: int
    customer: object = None
    payee: object = None
    item: object = None
    qbo_class: object = None
    billable: bool = False
    hourly_rate: float | None = None
    minutes: int = 0
    description: str = ""
    problems: list = field(default_factory=list)

    @property
    def blocked(self):
        return any(problem.blocking for problem in self.problems)

    @property
    def skipped(self):
        return any(problem.code == "skipped" for problem in self.problems)


class AccountAnalyticLine(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "account.analytic.line"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ identity

    def _qbo_request_key(self):
        """The stable key of a line for QBO: its marker in the TimeActivity Description.

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

    # ------------------------------------------------------------------ skip rule

    def _qbo_skip_reason(self, company, run=None):
        """Why an export of ``company`` (by ``run``) leaves this line alone; '' to send it.

        The one rule for the preview (shows the line as skipped), the
        confirmation (records it as skipped, leaves it unlocked) and each export
        job (``run`` given: the line may have been unlocked or handed over
        since the run approved it).
        """
        self.ensure_one()
        line = self.sudo()
        if line.company_id != company:
            return self.env._(
                "Belongs to %(company)s: export it from that company.",
                company=line.company_id.name,
            )
        if line.qbo_state == "deleted":
            # Deleted in QBO by someone: sending it again is a manager's decision, never ours.
            return self.env._(
                "Its TimeActivity %(qbo_id)s was deleted in QuickBooks Online: not sent again "
                "unless a QuickBooks manager unlocks it or exports it again.",
                qbo_id=line.qbo_time_activity_id or "?",
            )
        if line.qbo_state == "exported" or line.qbo_time_activity_id:
            return self.env._(
                "Already in QuickBooks Online (TimeActivity %(qbo_id)s): not sent again.",
                qbo_id=line.qbo_time_activity_id or "?",
            )
        if run is not None:
            if line.qbo_state == "draft":
                return self.env._("Unlocked before it was sent.")
            if line.qbo_export_id != run:
                return self.env._(
                    "Handed over to the later export %(run)s.",
                    run=line.qbo_export_id.display_name,
                )
        if self._qbo_duration_minutes(line.unit_amount) <= 0:
            # Nothing QBO could hold: locking it would only keep it from being corrected.
            return self.env._("No duration: nothing to send (left unlocked).")
        return ""

    # ------------------------------------------------------------------ plans

    def _qbo_time_activity_plans(self, company, run=None):
        """``{line_id: TimeActivityPlan}`` for the lines, in a few set-based queries.

        Mappings are resolved now (project → customer, employee → payee), so a
        mapping fixed after the preview counts at send time.
        """
        lines = self.sudo().with_context(active_test=False)
        lines.fetch(["date", "unit_amount", "name", "project_id", "employee_id", "company_id"])
        # An export job never creates mapping rows (see qbo.project.mapping._qbo_for).
        create = run is None
        context = PlanContext(
            company=company,
            run=run,
            customers=lines.project_id._qbo_resolve_customers(company, create=create),
            payees=lines.employee_id._qbo_resolve_payees(create=create),
            projects=lines.project_id._qbo_mappings(company, create=create),
            default_item=company.sudo().qbo_default_item_id,
            overbooked=lines._qbo_overbooked_days(),
        )
        return {line.id: line._qbo_plan_line(context) for line in lines}

    def _qbo_plan_line(self, context):
        """One line's plan, step by step. Hook: override to add problems or change the mapping."""
        self.ensure_one()
        plan = TimeActivityPlan(self.id, minutes=self._qbo_duration_minutes(self.unit_amount))
        skip = self._qbo_skip_reason(context.company, context.run)
        if skip:
            plan.problems.append(Problem("skipped", skip, blocking=True))
        else:
            plan.customer = self._qbo_plan_customer(context.customers, plan.problems)
            plan.payee = self._qbo_plan_payee(context.payees, plan.problems)
            plan.item, plan.qbo_class = self._qbo_plan_item(context, plan.problems)
        self._qbo_plan_day_total(context.overbooked, plan.problems)
        plan.description = self._qbo_plan_description(plan.problems)
        plan.billable, plan.hourly_rate = self._qbo_plan_billing(plan)
        return plan

    def _qbo_plan_customer(self, customers, problems):
        if not self.project_id:
            problems.append(
                Problem(
                    "no_project",
                    self.env._("No project: only project timesheets can be exported."),
                    blocking=True,
                )
            )
            return None
        return self._qbo_plan_resolution(
            customers.get(self.project_id.id), "qbo.project.mapping", self.project_id, problems
        )

    def _qbo_plan_payee(self, payees, problems):
        if not self.employee_id:
            problems.append(
                Problem("no_employee", self.env._("No employee on the line."), blocking=True)
            )
            return None
        return self._qbo_plan_resolution(
            payees.get(self.employee_id.id), "qbo.employee.mapping", self.employee_id, problems
        )

    def _qbo_plan_resolution(self, resolution, mapping_model, record, problems):
        """The cache record a resolution found, or a blocking problem linking to the fix."""
        if resolution is None or resolution.found_by in UNRESOLVED:
            found_by = resolution.found_by if resolution else "missing"
            problems.append(
                Problem(
                    f"{mapping_model}_{found_by}",
                    resolution.message if resolution else self.env._("Not mapped."),
                    blocking=True,
                    fix_model=mapping_model,
                    fix_id=resolution.mapping_id if resolution else 0,
                )
            )
            return None
        return resolution.record

    def _qbo_plan_item(self, context, problems):
        """Service item (the project's, else the company default) and class of the project."""
        mapping = context.projects.get(self.project_id.id) or self.env["qbo.project.mapping"]
        item = mapping.item_id or context.default_item
        if item and not item.active_in_qbo:
            on_mapping = bool(mapping.item_id)
            problems.append(
                Problem(
                    "item_inactive",
                    self.env._(
                        "The service item %(item)s is inactive in QuickBooks Online.",
                        item=item.name,
                    ),
                    blocking=True,
                    fix_model="qbo.project.mapping" if on_mapping else "res.company",
                    fix_id=mapping.id if on_mapping else self.company_id.id,
                )
            )
        qbo_class = mapping.class_id
        if qbo_class and not qbo_class.active_in_qbo:
            problems.append(
                Problem(
                    "class_inactive",
                    self.env._(
                        "The class %(name)s is inactive in QuickBooks Online.", name=qbo_class.name
                    ),
                    blocking=True,
                    fix_model="qbo.project.mapping",
                    fix_id=mapping.id,
                )
            )
        return item, qbo_class

    def _qbo_plan_day_total(self, overbooked, problems):
        if (self.employee_id.id, self.date) in overbooked:
            problems.append(
                Problem(
                    "over_24h",
                    self.env._(
                        "%(employee)s has more than 24 hours on %(date)s.",
                        employee=self.employee_id.name,
                        date=fields.Date.to_string(self.date),
                    ),
                )
            )

    def _qbo_plan_description(self, problems):
        description = self.name or ""
        if description == "/":
            return ""
        if len(description) > payloads.DESCRIPTION_MAX:
            problems.append(
                Problem(
                    "description_truncated",
                    self.env._(
                        "Description longer than %(max)s characters: it will be truncated.",
                        max=payloads.DESCRIPTION_MAX,
                    ),
                )
            )
            return description[: payloads.DESCRIPTION_MAX]
        return description

    def _qbo_plan_billing(self, plan):
        """``(billable, hourly_rate)``: the billable policy (see readme/USAGE.md).

        Time is billable when it goes to a QBO customer and its Odoo project bills a
        customer (has a partner), unless QBO says the employee's time is not billable.
        The rate is QBO's own, as its time entry screen picks it: the employee's or
        vendor's bill rate, else the service item's sales price. Without a rate it is
        sent not billable (QBO requires a rate on billable time), with a warning.
        Hook: override to take the rate from a price list or a sales order.
        """
        customer, payee, item = plan.customer, plan.payee, plan.item
        if not customer or not payee or not self.project_id.partner_id:
            return False, None
        if not payee.billable_time:
            return False, None
        rate = payee.bill_rate or (item.unit_price if item else 0.0)
        if rate > 0:
            return True, rate
        plan.problems.append(
            Problem(
                "no_rate",
                self.env._(
                    "No billing rate in QuickBooks (bill rate of %(payee)s or the service "
                    "item's price): sent as not billable.",
                    payee=payee.display_name,
                ),
            )
        )
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

    # ------------------------------------------------------------------ payload

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


@dataclass(frozen=True)
class PlanContext:
    """What planning a set of lines needs, computed once for all of them."""

    company: object
    run: object
    customers: dict
    payees: dict
    projects: dict
    default_item: object
    overbooked: set
