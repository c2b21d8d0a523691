"""A company's connection to QuickBooks Online: app credentials, realm, connect, disconnect.

Connecting is OAuth 2.0: Settings' Connect issues a state bound to the admin
and the company (``qbo.oauth.state``), Intuit's consent page redirects to the
callback route, and :meth:`_qbo_oauth_callback` verifies everything *before*
it stores anything (state, code exchange, the realm QBO granted).
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ...const import ADMIN_GROUP, MANAGER_GROUP
from ...qbo.client import QboClient
from ...qbo.errors import QboFault
from ...qbo.tokens import RotatingTokens
from ..qbo_access import check_admin
from ..qbo_user_message import notification, user_message

_logger = logging.getLogger(__name__)


class ResCompany(models.Model):
    _inherit = "res.company"

    qbo_environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox"), ("custom", "Custom URL")],
        string="QuickBooks Environment",
        default="production",
        required=True,
        groups=MANAGER_GROUP,
    )
    qbo_base_url = fields.Char(
        "QuickBooks Base URL",
        groups=MANAGER_GROUP,
        help="Custom environment only: e.g. http://127.0.0.1:8070 for the offline qbo_sandbox.",
    )
    qbo_client_id = fields.Char("QuickBooks Client ID", groups=ADMIN_GROUP, copy=False)
    qbo_client_secret = fields.Char("QuickBooks Client Secret", groups=ADMIN_GROUP, copy=False)
    qbo_realm_id = fields.Char(
        "QuickBooks Company ID", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    qbo_company_name = fields.Char(
        "QuickBooks Company", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    qbo_time_tracking = fields.Boolean(
        "Time Tracking in QuickBooks", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    qbo_tracks_classes = fields.Boolean(
        "Class Tracking in QuickBooks", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    qbo_default_item_id = fields.Many2one(
        "qbo.item",
        string="Default Service Item",
        groups=MANAGER_GROUP,
        domain="[('company_id', '=', id), ('active_in_qbo', '=', True)]",
        help="Noko's default category: the item of time on projects without an item of their own.",
    )
    qbo_last_message = fields.Char(readonly=True, copy=False, groups=MANAGER_GROUP)
    qbo_last_message_type = fields.Selection(
        [("success", "Success"), ("danger", "Error")],
        readonly=True,
        copy=False,
        groups=MANAGER_GROUP,
    )

    # token health, from qbo.token (tokens themselves: system administrators only)
    qbo_connected = fields.Boolean(compute="_compute_qbo_token_health", groups=MANAGER_GROUP)
    qbo_access_expires_at = fields.Datetime(
        "Access Token Expires", compute="_compute_qbo_token_health", groups=MANAGER_GROUP
    )
    qbo_refresh_expires_at = fields.Datetime(
        "Refresh Token Expires", compute="_compute_qbo_token_health", groups=MANAGER_GROUP
    )
    qbo_refresh_hard_expires_at = fields.Datetime(
        "Connection Expires",
        compute="_compute_qbo_token_health",
        groups=MANAGER_GROUP,
        help="Intuit's 5-year cap: after this date the admin must connect again.",
    )
    qbo_connection_error = fields.Char(compute="_compute_qbo_token_health", groups=MANAGER_GROUP)
    qbo_used_from_copy = fields.Boolean(
        "Used From a Copy",
        compute="_compute_qbo_token_health",
        groups=MANAGER_GROUP,
        help="The connection was made from another database (this one may be a copy): nothing "
        "is sent until an administrator keeps it here or disconnects.",
    )
    qbo_access_token = fields.Char(compute="_compute_qbo_tokens", groups=ADMIN_GROUP)
    qbo_refresh_token = fields.Char(compute="_compute_qbo_tokens", groups=ADMIN_GROUP)

    #: Read record by record only, by administrators of that very company.
    _qbo_secret_fields = frozenset({"qbo_client_secret", "qbo_access_token", "qbo_refresh_token"})

    def _has_field_access(self, field, operation):
        """Secrets and the connection belong to the administrators of *that* company.

        Field groups say who (``base.group_system``); Odoo also lets every settings
        administrator read and write every company, so this says which companies:
        those among the caller's current ones (``env.companies``), for reading a
        secret and for changing any stored connection field (server, app,
        default item: what a token refresh would be sent to). Without records
        (search, group by, field descriptions) a secret is never accessible:
        nobody needs to search by a token.
        """
        if not super()._has_field_access(field, operation):
            return False
        if self.env.su or not field.name.startswith("qbo_"):
            return True
        if operation == "read" and field.name not in self._qbo_secret_fields:
            return True
        if operation == "write" and (field.compute or not field.store):
            return True
        if not self:
            return operation == "write"  # creating a company: nothing to take yet
        return not (self._origin - self.env.companies)

    @api.constrains("qbo_default_item_id")
    def _check_qbo_default_item_company(self):
        for company in self.sudo():
            item = company.qbo_default_item_id
            if item and item.company_id != company:
                raise ValidationError(
                    self.env._(
                        "The default service item of %(company)s must be one of its own "
                        "QuickBooks Online items.",
                        company=company.name,
                    )
                )

    def _qbo_token_record(self):
        self.ensure_one()
        return self.env["qbo.token"].sudo().search([("company_id", "=", self.id)])

    @api.depends_context("uid")
    def _compute_qbo_token_health(self):
        tokens = self.env["qbo.token"].sudo().search([("company_id", "in", self.ids)])
        by_company = {token.company_id.id: token for token in tokens}
        for company in self:
            token = by_company.get(company.id)
            mismatch = token._qbo_binding_mismatch() if token else ""
            company.qbo_connected = bool(
                token and token.refresh_token and not token.needs_reconnect and not mismatch
            )
            company.qbo_used_from_copy = bool(mismatch)
            company.qbo_access_expires_at = token.access_expires_at if token else False
            company.qbo_refresh_expires_at = token.refresh_expires_at if token else False
            company.qbo_refresh_hard_expires_at = token.refresh_hard_expires_at if token else False
            company.qbo_connection_error = mismatch or (token.last_error if token else False)

    @api.depends_context("uid")
    def _compute_qbo_tokens(self):
        # Another company's admin is kept out by _has_field_access: a token row prefetched
        # in sudo (the health compute) would pass the multi-company rule from the cache.
        for company in self:
            token = company._qbo_token_record().sudo(False)
            company.qbo_access_token = token.access_token if token else False
            company.qbo_refresh_token = token.refresh_token if token else False

    def _qbo_is_connected(self):
        self.ensure_one()
        company = self.sudo()
        return bool(company.qbo_realm_id and company.qbo_connected)

    @api.model
    def _qbo_cron_each_connected(self, work, failed):
        """A daily cron's loop: ``work(company)`` for every connected company, each
        committed on its own (``_commit_progress``), so that one company's failure or a
        time-out keeps the others' work; ``failed(company, error)`` for a QBO fault or a
        ``UserError`` (that company's work is rolled back)."""
        companies = self.sudo().search([("qbo_realm_id", "!=", False)])
        connected = companies.filtered(lambda company: company._qbo_is_connected())
        self.env["ir.cron"]._commit_progress(remaining=len(connected))
        for company in connected:
            try:
                with self.env.cr.savepoint():
                    work(company)
            except (QboFault, UserError) as exc:
                failed(company, exc)
            if not self.env["ir.cron"]._commit_progress(1):
                break

    # ------------------------------------------------------------------ connect

    def _qbo_authorization_url(self):
        """Start connecting: a state bound to this user and company, and Intuit's consent URL."""
        self.ensure_one()
        check_admin(self)
        oauth = self._qbo_oauth_client()
        state = self.env["qbo.oauth.state"]._qbo_issue(self)
        return oauth.authorization_url(state)

    def _qbo_action_connect(self):
        return {
            "type": "ir.actions.act_url",
            "url": self._qbo_authorization_url(),
            "target": "self",
        }

    @api.model
    def _qbo_oauth_callback(self, state, code=None, realm_id=None, error=None):
        """Finish what the consent page started: ``(company, problem)``.

        Nothing is stored until everything is verified: the state (this user's,
        for a company they may access, unused, unexpired), the code (exchanged
        once) and the realm (QBO answers for it with the new tokens). On any
        problem nothing changes and ``problem`` says why, for this user only.
        """
        company = self.env.company
        try:
            company = self.env["qbo.oauth.state"]._qbo_consume(state)
            if error:
                raise UserError(
                    self.env._(
                        "QuickBooks did not authorize the connection (%(error)s).", error=error
                    )
                )
            if not code or not realm_id:
                raise UserError(self.env._("QuickBooks sent no authorization code or company."))
            company._qbo_connect_with_code(code, str(realm_id))
        except (UserError, QboFault) as problem:
            return company, user_message(self.env, problem)
        return company, None

    def _qbo_connect_with_code(self, code, realm_id):
        """Exchange the code, check the realm with the new tokens, then store and commit."""
        self.ensure_one()
        check_admin(self)
        company = self.sudo()
        oauth = company._qbo_oauth_client()
        tokens = oauth.exchange_code(code, realm_id)
        tokens.realm_id = realm_id
        # A forged realmId fails here: QBO answers only for the realm it granted.
        rotated = [tokens]
        checker = QboClient(
            company._qbo_environment(),
            realm_id,
            RotatingTokens(oauth, tokens, rotated.append),
            **company._qbo_client_options(),
        )
        try:
            info, preferences = checker.company_info(), checker.preferences()
        except QboFault as fault:
            if not fault.connection_lost:
                raise
            raise UserError(
                self.env._(
                    "QuickBooks Online did not grant access to the company %(realm)s with this "
                    "authorization: connect again from Settings (%(fault)s).",
                    realm=realm_id,
                    fault=fault.summary(),
                )
            ) from fault
        if company.qbo_realm_id and company.qbo_realm_id != realm_id:
            company._qbo_forget_lists()
        company._qbo_token_source().store(rotated[-1])
        company.write({"qbo_realm_id": realm_id})
        company._qbo_store_company_info(info, preferences, checker)
        company.write(
            {
                "qbo_last_message": self.env._(
                    "Connected to %(name)s (company %(realm)s).",
                    name=company.qbo_company_name,
                    realm=realm_id,
                ),
                "qbo_last_message_type": "success",
            }
        )
        self.env.invalidate_all()

    def _qbo_forget_lists(self):
        """A different QBO company: the cached lists and the mappings to them are void."""
        for model in self._qbo_list_models:
            self.env[model].sudo().with_context(active_test=False).search(
                [("company_id", "in", self.ids)]
            ).unlink()
        self.sudo().write({"qbo_sync_marks": False, "qbo_lists_synced_at": False})

    def _qbo_read_company(self, client):
        """Store the QBO company's name and the preferences the export depends on."""
        self._qbo_store_company_info(client.company_info(), client.preferences(), client)

    def _qbo_store_company_info(self, info, preferences, client):
        accounting = preferences.get("AccountingInfoPrefs") or {}
        self.sudo().write(
            {
                "qbo_company_name": info.get("CompanyName") or info.get("LegalName") or False,
                "qbo_time_tracking": client.time_tracking_enabled(preferences),
                "qbo_tracks_classes": bool(
                    accounting.get("ClassTrackingPerTxn")
                    or accounting.get("ClassTrackingPerTxnLine")
                ),
            }
        )

    def _qbo_disconnect(self):
        """Revoke the refresh token at Intuit and forget the tokens here."""
        self.ensure_one()
        check_admin(self)
        company = self.sudo()
        source = company._qbo_token_source()
        warning = False
        token = company._qbo_token_record()
        # From a copy, revoking would end production's connection: only forget it here.
        if token.refresh_token and not token._qbo_binding_mismatch():
            try:
                source.oauth.revoke(token.refresh_token)
            except QboFault as fault:
                # The local tokens go anyway; the app stays listed in QBO until removed there.
                warning = fault.summary()
                _logger.warning(
                    "Revoking QuickBooks tokens of company %s failed: %s", self.id, warning
                )
        source.forget()
        self.env.invalidate_all()
        message = (
            self.env._(
                "Disconnected; QuickBooks did not confirm the revocation: %(error)s", error=warning
            )
            if warning
            else self.env._("Disconnected from QuickBooks Online.")
        )
        company.write(
            {
                "qbo_realm_id": False,
                "qbo_company_name": False,
                "qbo_last_message": message,
                "qbo_last_message_type": "danger" if warning else "success",
            }
        )
        return message

    def _qbo_keep_connection(self):
        """ "This database is the production one": its connection may be used from here."""
        self.ensure_one()
        check_admin(self)
        token = self.sudo()._qbo_token_record()
        if token:
            token._qbo_rebind()
            self.sudo().write(
                {
                    "qbo_last_message": self.env._(
                        "This database now uses the QuickBooks Online connection: exports "
                        "go to %(name)s.",
                        name=self.sudo().qbo_company_name or self.sudo().qbo_realm_id,
                    ),
                    "qbo_last_message_type": "success",
                }
            )
        self.env.invalidate_all()

    def _qbo_action_test_connection(self):
        """Read CompanyInfo and Preferences; a notification with what was found."""
        self.ensure_one()
        check_admin(self)
        try:
            self.sudo()._qbo_read_company(self.sudo()._qbo_client())
        except QboFault as fault:
            return notification(self.env, user_message(self.env, fault), "danger")
        company = self.sudo()
        message = self.env._(
            "Connected to %(name)s (company %(realm)s). Time Tracking is %(state)s in QuickBooks.",
            name=company.qbo_company_name,
            realm=company.qbo_realm_id,
            state=self.env._("on") if company.qbo_time_tracking else self.env._("off"),
        )
        return notification(
            self.env, message, "success" if company.qbo_time_tracking else "warning"
        )
