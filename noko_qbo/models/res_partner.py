from odoo import api, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.ondelete(at_uninstall=False)
    def _unlink_except_qbo_locked_lines(self):
        """A customer on approved or exported time stays (see ``account_analytic_line.lock``)."""
        self.env["account.analytic.line"]._qbo_check_kept_by_locked_lines("partner_id", self)
