from odoo import fields, models

PREVIEW_STATUSES = [
    ("blocked", "Not sent"),
    ("warning", "Warning"),
    ("ready", "Ready"),
    ("skipped", "Skipped"),
]


class QboExportPreviewLine(models.TransientModel):
    """One timesheet line as the export would send it, with its problems.

    Written by ``qbo.export.preview._qbo_insert_lines`` (one INSERT for all).
    """

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
        """This line's first fixable problem, like its grouped problem's Fix."""
        self.ensure_one()
        return self.preview_id._qbo_open_fix(self.fix_model, self.fix_res_id)
