"""Who an employee's time is paid as in QBO: one row per employee (a binding).

The row holds the manual choice (a QBO Employee or Vendor) and shows what the
automatic matching found (name, then work email). QuickBooks managers edit
these rows, never the employee, whose data stays under HR's rights.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .qbo_access import check_caller
from .qbo_mapping import FOUND_BY, EmailIndex, NameIndex, Resolution, pick, search_by_found_by


class QboEmployeeMapping(models.Model):
    _name = "qbo.employee.mapping"
    _description = "QuickBooks Online mapping of an employee"
    _order = "employee_id, id"
    _rec_name = "employee_id"
    _check_company_auto = True

    employee_id = fields.Many2one(
        "hr.employee", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="employee_id.company_id", store=True, index=True, string="Company"
    )
    work_email = fields.Char(related="employee_id.work_email")
    payee_id = fields.Many2one(
        "qbo.payee",
        string="QuickBooks Employee/Vendor",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to match a QuickBooks employee or vendor by name, then by work email.",
    )
    effective_payee_id = fields.Many2one(
        "qbo.payee", string="Time Is Paid As", compute="_compute_resolution"
    )
    found_by = fields.Selection(
        FOUND_BY, string="Found", compute="_compute_resolution", search="_search_found_by"
    )
    message = fields.Char(compute="_compute_resolution")

    _employee_uniq = models.Constraint(
        "unique(employee_id)", "An employee has one QuickBooks mapping."
    )

    def write(self, vals):
        # A row maps one employee for good: moved, it would take over another employee
        # (of another company, out of reach of the rule checked before the write).
        for name in ("employee_id", "company_id"):
            if name in vals and any(mapping[name].id != (vals[name] or False) for mapping in self):
                raise UserError(
                    self.env._(
                        "A QuickBooks mapping stays with its employee: choose the QuickBooks "
                        "employee or vendor instead."
                    )
                )
        return super().write(vals)

    @api.model
    def _qbo_for(self, employees, create=True):
        """``{employee_id: mapping}`` (superuser); see ``qbo.project.mapping._qbo_for``."""
        mappings = self.sudo()

        def existing():
            rows = mappings.search([("employee_id", "in", employees.ids)])
            return {mapping.employee_id.id: mapping for mapping in rows}

        by_employee = existing()
        missing = [eid for eid in employees.ids if eid not in by_employee]
        if missing and create:
            self.env.cr.execute(
                SQL(
                    """INSERT INTO qbo_employee_mapping
                           (employee_id, company_id, create_uid, write_uid, create_date, write_date)
                       SELECT id, company_id, %(uid)s, %(uid)s,
                              now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                         FROM hr_employee
                        WHERE id = ANY(%(employees)s)
                       ON CONFLICT (employee_id) DO NOTHING""",
                    uid=self.env.uid,
                    employees=missing,
                )
            )
            by_employee = existing()
        elif missing:
            by_employee.update({eid: mappings.new({"employee_id": eid}) for eid in missing})
        return by_employee

    # ------------------------------------------------------------------ actions

    @api.model
    def action_qbo_open_screen(self):
        """The mapping screen: a row for every employee of the current companies, then the list."""
        check_caller(self.env.companies)
        companies = self.env.companies
        employees = self.env["hr.employee"].sudo().search([("company_id", "in", companies.ids)])
        self._qbo_for(employees)
        return self.env["ir.actions.act_window"]._for_xml_id("noko_qbo.qbo_employee_mapping_action")

    def _qbo_action_open(self):
        """This mapping's form, in a dialog (Fix buttons, the employee form)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("QuickBooks Mapping"),
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "new",
        }

    def action_qbo_back_to_preview(self):
        """Save of the preview's Fix dialog (the form saved the row first): the export
        preview it was opened from, re-evaluated with this mapping."""
        check_caller(self, "write")
        return self.env["qbo.export.preview"]._qbo_back_from_fix()

    @api.depends("employee_id.name", "employee_id.work_email", "payee_id")
    def _compute_resolution(self):
        resolutions = self._qbo_resolve()
        for mapping in self:
            resolution = resolutions[mapping.id]
            mapping.effective_payee_id = resolution.record
            mapping.found_by = resolution.found_by
            mapping.message = resolution.message

    def _search_found_by(self, operator, value):
        return search_by_found_by(self, operator, value)

    def _qbo_resolve(self):
        """``{mapping.id: Resolution}``: the QBO Employee or Vendor each employee is paid as.

        Override first; else by name (exact, then normalized, see ``qbo_mapping``),
        QBO employees and vendors alike; when the name finds nobody or several, by
        work email (``PrimaryEmailAddr``, case-insensitive). One query per company
        for the cache, whatever the number of employees.
        """
        result = {}
        for company in self.sudo().company_id:
            payees = (
                self.env["qbo.payee"]
                .sudo()
                .with_context(active_test=False)
                .search([("company_id", "=", company.id)])
            )
            by_name = NameIndex(payees, lambda payee: [payee.name])
            by_email = EmailIndex(payees)
            for mapping in self.filtered(lambda m, company=company: m.sudo().company_id == company):
                result[mapping.id] = mapping._qbo_resolve_one(by_name, by_email)
        return result

    def _qbo_resolve_one(self, by_name, by_email):
        """Hook: one employee's payee, given the company's name and email indexes."""
        self.ensure_one()
        mapping = self.sudo()
        employee = mapping.employee_id
        if mapping.payee_id:
            return self._qbo_manual(mapping.payee_id, employee)
        record, found_by = pick(by_name.records, by_name.candidates(employee.name))
        if found_by in ("missing", "ambiguous") and employee.work_email:
            by_mail, found_by_mail = pick(
                by_email.records, by_email.candidates(employee.work_email)
            )
            if found_by_mail != "missing":
                record = by_mail
                found_by = "email" if found_by_mail == "name" else found_by_mail
        return self._qbo_automatic(record, found_by, employee)

    def _qbo_manual(self, payee, employee):
        if not payee.active_in_qbo:
            message = self.env._(
                "Employee %(employee)s: %(payee)s is inactive in QuickBooks.",
                employee=employee.name,
                payee=payee.display_name,
            )
            return self._qbo_resolution(payee, "inactive", message)
        message = self.env._(
            "Employee %(employee)s: set to %(payee)s.",
            employee=employee.name,
            payee=payee.display_name,
        )
        return self._qbo_resolution(payee, "manual", message)

    def _qbo_automatic(self, record, found_by, employee):
        name = employee.name
        if found_by == "name":
            message = self.env._(
                "Employee %(employee)s: matched %(payee)s by name.",
                employee=name,
                payee=record.display_name,
            )
        elif found_by == "email":
            message = self.env._(
                "Employee %(employee)s: matched %(payee)s by work email.",
                employee=name,
                payee=record.display_name,
            )
        elif found_by == "inactive":
            message = self.env._(
                "Employee %(employee)s: the matching QuickBooks %(payee)s is inactive.",
                employee=name,
                payee=record.display_name,
            )
        elif found_by == "ambiguous":
            record = None
            message = self.env._(
                "Employee %(employee)s: several QuickBooks employees or vendors match; choose "
                "one in their QuickBooks mapping.",
                employee=name,
            )
        else:
            record = None
            message = self.env._(
                "Employee %(employee)s: no QuickBooks employee or vendor matches the name or work "
                "email; choose one in their QuickBooks mapping or create it in QuickBooks and "
                "sync the lists.",
                employee=name,
            )
        return self._qbo_resolution(record or self.env["qbo.payee"], found_by, message)

    def _qbo_resolution(self, record, found_by, message):
        return Resolution(record.sudo(False), found_by, message, self.id or 0)
