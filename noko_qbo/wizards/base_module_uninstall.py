from odoo import api, fields, models


class BaseModuleUninstall(models.TransientModel):
    """The uninstall dialog warns what leaves with noko_qbo, and how to get it back."""

    _inherit = "base.module.uninstall"

    qbo_uninstall_warning = fields.Boolean(
        "Warn About QuickBooks", compute="_compute_qbo_uninstall_warning"
    )

    @api.depends("module_ids")
    def _compute_qbo_uninstall_warning(self):
        for wizard in self:
            wizard.qbo_uninstall_warning = "noko_qbo" in wizard._get_modules().mapped("name")
