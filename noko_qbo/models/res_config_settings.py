from odoo import api, fields, models

from ..const import ADMIN_GROUP, CHUNK_SIZE_PARAM, DEFAULT_CHUNK_SIZE, MANAGER_GROUP
from .qbo_access import check_admin


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    qbo_environment = fields.Selection(
        related="company_id.qbo_environment", readonly=False, groups=MANAGER_GROUP
    )
    qbo_base_url = fields.Char(
        related="company_id.qbo_base_url", readonly=False, groups=MANAGER_GROUP
    )
    qbo_client_id = fields.Char(
        related="company_id.qbo_client_id", readonly=False, groups=ADMIN_GROUP
    )
    # Write-only: the stored secret never travels back to the browser.
    qbo_new_client_secret = fields.Char("Client Secret", groups=ADMIN_GROUP)
    qbo_has_client_secret = fields.Boolean(
        compute="_compute_qbo_has_client_secret", groups=ADMIN_GROUP
    )
    qbo_redirect_uri = fields.Char("Redirect URI", compute="_compute_qbo_redirect_uri")
    qbo_connected = fields.Boolean(related="company_id.qbo_connected", groups=MANAGER_GROUP)
    qbo_realm_id = fields.Char(related="company_id.qbo_realm_id", groups=MANAGER_GROUP)
    qbo_company_name = fields.Char(related="company_id.qbo_company_name", groups=MANAGER_GROUP)
    qbo_access_expires_at = fields.Datetime(
        related="company_id.qbo_access_expires_at", groups=MANAGER_GROUP
    )
    qbo_refresh_expires_at = fields.Datetime(
        related="company_id.qbo_refresh_expires_at", groups=MANAGER_GROUP
    )
    qbo_refresh_hard_expires_at = fields.Datetime(
        related="company_id.qbo_refresh_hard_expires_at", groups=MANAGER_GROUP
    )
    qbo_connection_error = fields.Char(
        related="company_id.qbo_connection_error", groups=MANAGER_GROUP
    )
    qbo_used_from_copy = fields.Boolean(
        related="company_id.qbo_used_from_copy", groups=MANAGER_GROUP
    )
    qbo_time_tracking = fields.Boolean(related="company_id.qbo_time_tracking", groups=MANAGER_GROUP)
    qbo_tracks_classes = fields.Boolean(
        related="company_id.qbo_tracks_classes", groups=MANAGER_GROUP
    )
    qbo_lists_synced_at = fields.Datetime(
        related="company_id.qbo_lists_synced_at", groups=MANAGER_GROUP
    )
    qbo_default_item_id = fields.Many2one(
        related="company_id.qbo_default_item_id", readonly=False, groups=MANAGER_GROUP
    )
    qbo_last_message = fields.Char(related="company_id.qbo_last_message", groups=MANAGER_GROUP)
    qbo_last_message_type = fields.Selection(
        related="company_id.qbo_last_message_type", groups=MANAGER_GROUP
    )
    qbo_requests_per_minute = fields.Integer(
        related="company_id.qbo_requests_per_minute", readonly=False, groups=ADMIN_GROUP
    )
    qbo_batch_per_minute = fields.Integer(
        related="company_id.qbo_batch_per_minute", readonly=False, groups=ADMIN_GROUP
    )
    qbo_concurrent_requests = fields.Integer(
        related="company_id.qbo_concurrent_requests", readonly=False, groups=ADMIN_GROUP
    )
    qbo_headroom_per_minute = fields.Integer(
        related="company_id.qbo_headroom_per_minute", readonly=False, groups=ADMIN_GROUP
    )
    qbo_export_chunk_size = fields.Integer(
        "Lines per Export Job",
        config_parameter=CHUNK_SIZE_PARAM,
        default=DEFAULT_CHUNK_SIZE,
        groups=ADMIN_GROUP,
        help="An export sends its lines in background jobs of this many lines each.",
    )

    @api.depends("company_id")
    def _compute_qbo_has_client_secret(self):
        for settings in self:
            settings.qbo_has_client_secret = bool(settings.company_id.sudo().qbo_client_secret)

    def _compute_qbo_redirect_uri(self):
        self.qbo_redirect_uri = self.env["res.company"]._qbo_redirect_uri()

    def _qbo_save_secret(self):
        for settings in self:
            if settings.qbo_new_client_secret:
                check_admin(settings.company_id)
                settings.company_id.sudo().qbo_client_secret = settings.qbo_new_client_secret
                settings.qbo_new_client_secret = False

    def set_values(self):
        res = super().set_values()
        self._qbo_save_secret()
        return res

    def _qbo_company(self):
        """The settings' company, once the caller is checked (admin, one of their companies)."""
        self.ensure_one()
        check_admin(self.company_id)
        return self.company_id

    def action_qbo_connect(self):
        company = self._qbo_company()
        self._qbo_save_secret()
        return company._qbo_action_connect()

    def action_qbo_disconnect(self):
        self._qbo_company()._qbo_disconnect()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def action_qbo_test_connection(self):
        company = self._qbo_company()
        self._qbo_save_secret()
        return company._qbo_action_test_connection()

    def action_qbo_keep_connection(self):
        self._qbo_company()._qbo_keep_connection()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def action_qbo_sync_lists(self):
        return self._qbo_company()._qbo_action_sync_lists()
