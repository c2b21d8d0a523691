from odoo import api, fields, models

from ..models.qbo_access import check_caller
from ..models.qbo_user_message import count_lines
from .qbo_export_preview import hours_minutes

#: Problem codes meaning "no QuickBooks customer found for the project": the cases
#: (Odoo's internal project, a project without a partner...) where sending the time
#: without a customer (not billable, for payroll) is a sensible one-click answer.
NO_CUSTOMER_CODES = ("qbo.project.mapping_missing",)


class QboExportPreviewProblem(models.TransientModel):
    """One cause of problems in a preview: a problem code and the record that fixes it."""

    _name = "qbo.export.preview.problem"
    _description = "QuickBooks Online export preview problem"
    _order = "blocking desc, count_lines desc, id"

    preview_id = fields.Many2one(
        "qbo.export.preview", required=True, ondelete="cascade", index=True
    )
    code = fields.Char(required=True)
    message = fields.Text(string="Problem")
    blocking = fields.Boolean(help="Its lines will not be sent until it is fixed.")
    fix_model = fields.Char()
    fix_res_id = fields.Integer()
    count_lines = fields.Integer("Number of lines")
    lines_label = fields.Char("Lines", compute="_compute_lines_label")
    minutes = fields.Integer()
    duration = fields.Char("Hours", compute="_compute_lines_label")
    can_send_without_customer = fields.Boolean(compute="_compute_lines_label")

    @api.depends("count_lines", "minutes", "code")
    def _compute_lines_label(self):
        for problem in self:
            problem.lines_label = count_lines(self.env, problem.count_lines)
            problem.duration = hours_minutes(problem.minutes)
            problem.can_send_without_customer = problem.code in NO_CUSTOMER_CODES

    def action_open_fix(self):
        """The record to fix in a dialog over the preview (Settings for company problems)."""
        self.ensure_one()
        return self.preview_id._qbo_open_fix(self.fix_model, self.fix_res_id)

    def action_send_without_customer(self):
        """One click for a project no QuickBooks customer matches: its time is sent
        without a customer (not billable, for payroll); the preview is re-evaluated."""
        self.ensure_one()
        check_caller(self.preview_id, "write")
        if self.code not in NO_CUSTOMER_CODES:
            return False
        mapping = self.env["qbo.project.mapping"].browse(self.fix_res_id).exists()
        if not mapping:
            return False
        check_caller(mapping, "write")
        mapping.without_customer = True
        return self.preview_id.action_refresh()
