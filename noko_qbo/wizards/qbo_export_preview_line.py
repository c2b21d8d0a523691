from odoo import fields, models

from ..models.qbo_access import check_caller

#: Where a problem's fix lives (besides Settings): the mapping rows.
FIXABLE_MODELS = ("qbo.project.mapping", "qbo.employee.mapping")

PREVIEW_STATUSES = [
    ("blocked", "Will not be sent"),
    ("warning", "Sent, with a warning"),
    ("ready", "Ready"),
    ("skipped", "Skipped"),
]


class QboExportPreviewLine(models.TransientModel):
    """One timesheet line as the export would send it, with its problems."""

    _name = "qbo.export.preview.line"
    _description = "QuickBooks Online export preview line"
    _order = "priority, date, id"

    preview_id = fields.Many2one(
        "qbo.export.preview", required=True, ondelete="cascade", index=True
    )
    line_id = fields.Many2one("account.analytic.line", string="Timesheet Line", ondelete="cascade")
    date = fields.Date()
    employee_id = fields.Many2one("hr.employee")
    project_id = fields.Many2one("project.project")
    description = fields.Char()
    customer_id = fields.Many2one("qbo.customer", string="QuickBooks Customer")
    payee_id = fields.Many2one("qbo.payee", string="QuickBooks Payee")
    payee_type = fields.Selection(related="payee_id.payee_type")
    item_id = fields.Many2one("qbo.item", string="Service Item")
    class_id = fields.Many2one("qbo.class", string="QuickBooks Class")
    billable = fields.Boolean()
    hourly_rate = fields.Float()
    minutes = fields.Integer()
    duration = fields.Char(help="Hours:minutes QuickBooks will receive.")
    status = fields.Selection(PREVIEW_STATUSES, required=True, default="ready")
    priority = fields.Integer(help="Problems first.")
    problem = fields.Text()
    fix_model = fields.Char()
    fix_res_id = fields.Integer()

    def action_open_fix(self):
        """Open the record whose setting fixes the problem (project, employee, settings)."""
        self.ensure_one()
        check_caller(self.preview_id)
        if self.fix_model == "res.company":
            return self.preview_id.action_open_settings()
        if self.fix_model not in FIXABLE_MODELS:
            return False
        target = self.env[self.fix_model].browse(self.fix_res_id).exists()
        if not target:
            return False
        check_caller(target)  # the row names any id: the mapping must be the caller's to open
        return target._qbo_action_open()
