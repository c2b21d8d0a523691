"""Re-link from QuickBooks: bind lines back to the TimeActivities QBO holds for them.

For a company and a date range, reads QBO's TimeActivities and binds every
timesheet line whose marker it finds (``account.analytic.line._qbo_relink``):
after an uninstall and reinstall, or a restore, exported lines get their lock
and state back and are never sent twice. Nothing is created in QBO.
"""

from dateutil.relativedelta import relativedelta

from odoo import fields, models

from ..models.qbo_access import check_caller
from ..models.qbo_user_message import qbo_user_errors


class QboRelink(models.TransientModel):
    _name = "qbo.relink"
    _description = "Re-link timesheet lines from QuickBooks Online"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    date_from = fields.Date(
        required=True, default=lambda self: fields.Date.today() - relativedelta(months=3)
    )
    date_to = fields.Date(required=True, default=fields.Date.today)
    done = fields.Boolean(readonly=True)
    count_bound = fields.Integer("Bound again", readonly=True)
    count_changed = fields.Integer("Bound, changed since export", readonly=True)
    count_already = fields.Integer("Already bound", readonly=True)
    count_conflict = fields.Integer("Bound to another TimeActivity", readonly=True)
    count_unknown = fields.Integer("Not from this database", readonly=True)

    def action_relink(self):
        """Read the range's TimeActivities and bind the lines they carry the marker of."""
        self.ensure_one()
        check_caller(self.company_id)
        check_caller(self, "write")
        company = self.company_id.sudo()
        with qbo_user_errors(self.env):
            activities = company._qbo_client().time_activities_between(self.date_from, self.date_to)
        counts = self.env["account.analytic.line"]._qbo_relink(company, activities)
        self.write({"done": True, **{f"count_{name}": count for name, count in counts.items()}})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "new",
        }
