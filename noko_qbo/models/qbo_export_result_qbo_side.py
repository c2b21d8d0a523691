from odoo import fields, models

from .qbo_access import check_caller


class QboExportResult(models.Model):
    """A run's result shows what became of its line in QBO since (billed, deleted, removed)."""

    # One file per concern of the model: deliberately not merged with the other.
    _inherit = "qbo.export.result"  # pylint: disable=consider-merging-classes-inherited

    line_qbo_state = fields.Selection(related="line_id.qbo_state", string="Line Now")
    qbo_billing_status = fields.Selection(related="line_id.qbo_billing_status")

    def action_qbo_remove(self):
        """The run's Results: remove this result's line from QuickBooks (see the line's)."""
        check_caller(self)
        return self.line_id.action_qbo_remove()
