from odoo import api, fields, models

from ..const import ADMIN_GROUP, MANAGER_GROUP
from ..controllers.webhook import QboWebhookController
from .qbo_access import check_admin


class ResConfigSettings(models.TransientModel):
    # One file per concern of the model: deliberately not merged with the other.
    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    # Write-only, like the client secret: the stored token never travels back to the browser.
    qbo_new_webhook_verifier_token = fields.Char("Webhook Verifier Token", groups=ADMIN_GROUP)
    qbo_has_webhook_verifier_token = fields.Boolean(
        compute="_compute_qbo_has_webhook_verifier_token", groups=ADMIN_GROUP
    )
    qbo_webhook_url = fields.Char("Webhook Endpoint", compute="_compute_qbo_webhook_url")
    qbo_time_synced_at = fields.Datetime(
        related="company_id.qbo_time_synced_at", groups=MANAGER_GROUP
    )
    qbo_time_sync_message = fields.Char(
        related="company_id.qbo_time_sync_message", groups=MANAGER_GROUP
    )

    @api.depends("company_id")
    def _compute_qbo_has_webhook_verifier_token(self):
        for settings in self:
            settings.qbo_has_webhook_verifier_token = bool(
                settings.company_id.sudo().qbo_webhook_verifier_token
            )

    def _compute_qbo_webhook_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url") or ""
        self.qbo_webhook_url = base.rstrip("/") + QboWebhookController._webhook_url

    def _qbo_save_verifier_token(self):
        for settings in self:
            if settings.qbo_new_webhook_verifier_token:
                check_admin(settings.company_id)
                settings.company_id.sudo().qbo_webhook_verifier_token = (
                    settings.qbo_new_webhook_verifier_token
                )
                settings.qbo_new_webhook_verifier_token = False

    def set_values(self):
        res = super().set_values()
        self._qbo_save_verifier_token()
        return res

    def action_qbo_sync_time_activities(self):
        company = self._qbo_company()
        self._qbo_save_verifier_token()
        return company._qbo_action_sync_time_activities()
