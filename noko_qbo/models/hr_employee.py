from odoo import api, fields, models

from .qbo_mapping import (
    HOW_SELECTION,
    EmailIndex,
    NameIndex,
    Resolution,
    is_mapping_write,
    pick,
    search_by_how,
)


class HrEmployee(models.Model):
    _inherit = "hr.employee"

    qbo_payee_id = fields.Many2one(
        "qbo.payee",
        string="QuickBooks Employee/Vendor",
        groups="noko_qbo.group_qbo_manager",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to match a QuickBooks employee or vendor by name, then by work email.",
    )
    qbo_effective_payee_id = fields.Many2one(
        "qbo.payee",
        string="Effective QuickBooks Employee/Vendor",
        compute="_compute_qbo_payee_mapping",
        groups="noko_qbo.group_qbo_manager",
    )
    qbo_payee_how = fields.Selection(
        HOW_SELECTION,
        string="QuickBooks Employee/Vendor Found",
        compute="_compute_qbo_payee_mapping",
        search="_search_qbo_payee_how",
        groups="noko_qbo.group_qbo_manager",
    )
    qbo_payee_message = fields.Char(
        compute="_compute_qbo_payee_mapping", groups="noko_qbo.group_qbo_manager"
    )

    def write(self, vals):
        if is_mapping_write(self, vals, ["qbo_payee_id"]):
            return super(HrEmployee, self.sudo()).write(vals)
        return super().write(vals)

    def _search_qbo_payee_how(self, operator, value):
        return search_by_how(self, "_qbo_resolve_payees", operator, value)

    @api.depends("name", "work_email", "company_id", "qbo_payee_id")
    def _compute_qbo_payee_mapping(self):
        resolutions = self._qbo_resolve_payees()
        for employee in self:
            resolution = resolutions[employee.id]
            employee.qbo_effective_payee_id = resolution.record
            employee.qbo_payee_how = resolution.how
            employee.qbo_payee_message = resolution.message

    def _qbo_resolve_payees(self):
        """``{employee.id: Resolution}``: the QBO Employee or Vendor each employee is paid as.

        Override first; else by name (exact, then normalized, see
        ``qbo_mapping``), QBO employees and vendors alike; when the name finds
        nobody or several, by work email (``PrimaryEmailAddr``, case-insensitive).
        One query per company for the cache, whatever the number of employees.
        """
        result = {}
        groups = {}
        for employee in self:
            groups.setdefault(employee.company_id or self.env.company, []).append(employee)
        for company, employees in groups.items():
            payees = (
                self.env["qbo.payee"]
                .sudo()
                .with_context(active_test=False)
                .search([("company_id", "=", company.id)])
            )
            by_name = NameIndex(payees, lambda payee: [payee.name])
            by_email = EmailIndex(payees)
            for employee in employees:
                result[employee.id] = self._qbo_resolve_payee(employee, by_name, by_email)
        return result

    def _qbo_resolve_payee(self, employee, by_name, by_email):
        """Hook: one employee's payee, given the company's name and email indexes."""
        _ = self.env._
        override = employee.sudo().qbo_payee_id
        if override:
            if not override.active_in_qbo:
                return Resolution(
                    override.sudo(False),
                    "inactive",
                    _(
                        "Employee %(employee)s: %(payee)s is inactive in QuickBooks.",
                        employee=employee.name,
                        payee=override.display_name,
                    ),
                )
            return Resolution(
                override.sudo(False),
                "manual",
                _(
                    "Employee %(employee)s: set to %(payee)s.",
                    employee=employee.name,
                    payee=override.display_name,
                ),
            )
        record, how = pick(by_name.records, by_name.candidates(employee.name))
        if how in ("missing", "ambiguous") and employee.work_email:
            by_mail, how_mail = pick(by_email.records, by_email.candidates(employee.work_email))
            if how_mail != "missing":
                record, how = by_mail, ("email" if how_mail == "name" else how_mail)
        if how in ("name", "email"):
            message = (
                _(
                    "Employee %(employee)s: matched %(payee)s by name.",
                    employee=employee.name,
                    payee=record.display_name,
                )
                if how == "name"
                else _(
                    "Employee %(employee)s: matched %(payee)s by work email.",
                    employee=employee.name,
                    payee=record.display_name,
                )
            )
            return Resolution(record.sudo(False), how, message)
        if how == "inactive":
            return Resolution(
                record.sudo(False),
                how,
                _(
                    "Employee %(employee)s: the matching QuickBooks %(payee)s is inactive.",
                    employee=employee.name,
                    payee=record.display_name,
                ),
            )
        if how == "ambiguous":
            return Resolution(
                self.env["qbo.payee"],
                how,
                _(
                    "Employee %(employee)s: several QuickBooks employees or vendors match; choose "
                    "one on the employee.",
                    employee=employee.name,
                ),
            )
        return Resolution(
            self.env["qbo.payee"],
            "missing",
            _(
                "Employee %(employee)s: no QuickBooks employee or vendor matches the name or work "
                "email; choose one on the employee or create it in QuickBooks and sync the lists.",
                employee=employee.name,
            ),
        )
