from odoo import api, fields, models

from ..const import MANAGER_GROUP
from .qbo_access import check_caller


class HrEmployee(models.Model):
    """Employees know their QuickBooks mapping row; they hold no QuickBooks data themselves."""

    _inherit = "hr.employee"

    qbo_mapping_ids = fields.One2many(
        "qbo.employee.mapping",
        "employee_id",
        string="QuickBooks Mapping",
        readonly=True,
        groups=MANAGER_GROUP,
    )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_qbo_locked_lines(self):
        self.env["account.analytic.line"]._qbo_check_kept_by_locked_lines("employee_id", self)

    def _qbo_mappings(self, create=True):
        """``{employee_id: qbo.employee.mapping}`` (see ``qbo.project.mapping._qbo_for``)."""
        return self.env["qbo.employee.mapping"]._qbo_for(self, create=create)

    def _qbo_resolve_payees(self, create=True):
        """``{employee.id: Resolution}``: the QBO Employee or Vendor each one is paid as,
        in the employee's own company."""
        mappings = self.sudo()._qbo_mappings(create=create)
        rows = self.env["qbo.employee.mapping"].sudo().concat(*mappings.values())
        resolutions = rows._qbo_resolve()
        return {employee_id: resolutions[mapping.id] for employee_id, mapping in mappings.items()}

    def action_qbo_open_mapping(self):
        """The employee's QuickBooks mapping, in a dialog (QuickBooks managers)."""
        self.ensure_one()
        check_caller(self, "read")
        return self._qbo_mappings()[self.id]._qbo_action_open()
