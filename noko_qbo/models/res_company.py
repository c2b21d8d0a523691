"""A company's connection to QuickBooks Online: app credentials, realm, token health, lists."""

import logging
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..qbo import environments
from ..qbo.client import QboClient
from ..qbo.errors import QboFault, ReconnectNeeded
from ..qbo.oauth import OAuthClient
from .qbo_token import CompanyTokenSource

_logger = logging.getLogger(__name__)

CALLBACK_PATH = "/noko_qbo/oauth/callback"
MANAGER = "noko_qbo.group_qbo_manager"


class ResCompany(models.Model):
    _inherit = "res.company"

    #: the QBO lists cached per company, synced in this order (parents before children)
    _qbo_list_models = ("qbo.customer", "qbo.payee", "qbo.item", "qbo.class")
    #: an export preview re-syncs the lists when they are older than this
    _qbo_lists_max_age = timedelta(hours=1)

    qbo_environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox"), ("custom", "Custom URL")],
        string="QuickBooks Environment",
        default="production",
        required=True,
        groups=MANAGER,
    )
    qbo_base_url = fields.Char(
        "QuickBooks Base URL",
        groups=MANAGER,
        help="Custom environment only: e.g. http://127.0.0.1:8070 for the offline qbo_sandbox.",
    )
    qbo_client_id = fields.Char("QuickBooks Client ID", groups="base.group_system", copy=False)
    qbo_client_secret = fields.Char(
        "QuickBooks Client Secret", groups="base.group_system", copy=False
    )
    qbo_realm_id = fields.Char("QuickBooks Company ID", readonly=True, copy=False, groups=MANAGER)
    qbo_company_name = fields.Char("QuickBooks Company", readonly=True, copy=False, groups=MANAGER)
    qbo_time_tracking = fields.Boolean(
        "Time Tracking in QuickBooks", readonly=True, copy=False, groups=MANAGER
    )
    qbo_tracks_classes = fields.Boolean(
        "Class Tracking in QuickBooks", readonly=True, copy=False, groups=MANAGER
    )
    qbo_lists_synced_at = fields.Datetime(
        "QuickBooks Lists Synced", readonly=True, copy=False, groups=MANAGER
    )
    # {"qbo.customer/Customer": newest LastUpdatedTime seen, ...}: where incremental syncs resume
    qbo_sync_marks = fields.Json(readonly=True, copy=False, groups=MANAGER)
    qbo_default_item_id = fields.Many2one(
        "qbo.item",
        string="Default Service Item",
        groups=MANAGER,
        domain="[('company_id', '=', id), ('active_in_qbo', '=', True)]",
        help="Noko's default category: the item of time on projects without an item of their own.",
    )
    qbo_last_message = fields.Char(readonly=True, copy=False, groups=MANAGER)
    qbo_last_message_type = fields.Selection(
        [("success", "Success"), ("danger", "Error")], readonly=True, copy=False, groups=MANAGER
    )

    # token health, from qbo.token (tokens themselves: system administrators only)
    qbo_connected = fields.Boolean(compute="_compute_qbo_token_health", groups=MANAGER)
    qbo_access_expires_at = fields.Datetime(
        "Access Token Expires", compute="_compute_qbo_token_health", groups=MANAGER
    )
    qbo_refresh_expires_at = fields.Datetime(
        "Refresh Token Expires", compute="_compute_qbo_token_health", groups=MANAGER
    )
    qbo_refresh_hard_expires_at = fields.Datetime(
        "Connection Expires",
        compute="_compute_qbo_token_health",
        groups=MANAGER,
        help="Intuit's 5-year cap: after this date the admin must connect again.",
    )
    qbo_connection_error = fields.Char(compute="_compute_qbo_token_health", groups=MANAGER)
    qbo_access_token = fields.Char(compute="_compute_qbo_tokens", groups="base.group_system")
    qbo_refresh_token = fields.Char(compute="_compute_qbo_tokens", groups="base.group_system")

    def _qbo_token_record(self):
        self.ensure_one()
        return self.env["qbo.token"].sudo().search([("company_id", "=", self.id)])

    @api.depends_context("uid")
    def _compute_qbo_token_health(self):
        tokens = self.env["qbo.token"].sudo().search([("company_id", "in", self.ids)])
        by_company = {token.company_id.id: token for token in tokens}
        database_uuid = self.env["qbo.token"]._qbo_database_uuid()
        for company in self:
            token = by_company.get(company.id)
            copied = bool(token) and token.database_uuid != database_uuid
            company.qbo_connected = bool(
                token and token.refresh_token and not token.needs_reconnect and not copied
            )
            company.qbo_access_expires_at = token.access_expires_at if token else False
            company.qbo_refresh_expires_at = token.refresh_expires_at if token else False
            company.qbo_refresh_hard_expires_at = token.refresh_hard_expires_at if token else False
            company.qbo_connection_error = (
                self.env._("This database is a copy: connect again.")
                if copied
                else (token.last_error if token else False)
            )

    @api.depends_context("uid")
    def _compute_qbo_tokens(self):
        # Not sudo: the multi-company rule on qbo.token keeps another company's admin out.
        for company in self:
            token = company._qbo_token_record().sudo(False)
            company.qbo_access_token = token.access_token if token else False
            company.qbo_refresh_token = token.refresh_token if token else False

    # ------------------------------------------------------------------ client

    def _qbo_is_connected(self):
        self.ensure_one()
        company = self.sudo()
        return bool(company.qbo_realm_id and company.qbo_connected)

    @api.model
    @tools.ormcache("name", "base_url")
    def _qbo_resolve_environment(self, name, base_url):
        # custom environments read a discovery document: once per process
        return environments.resolve(name, base_url or None)

    def _qbo_environment(self):
        self.ensure_one()
        company = self.sudo()
        if company.qbo_environment == "custom" and not company.qbo_base_url:
            raise UserError(
                self.env._("Set the QuickBooks base URL of %(company)s.", company=self.name)
            )
        return self._qbo_resolve_environment(company.qbo_environment, company.qbo_base_url or "")

    @api.model
    def _qbo_redirect_uri(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url") or ""
        return base.rstrip("/") + CALLBACK_PATH

    def _qbo_oauth_client(self):
        self.ensure_one()
        company = self.sudo()
        if not company.qbo_client_id or not company.qbo_client_secret:
            raise UserError(
                self.env._(
                    "Enter the QuickBooks app's client ID and secret for %(company)s first.",
                    company=self.name,
                )
            )
        return OAuthClient(
            self._qbo_environment(),
            company.qbo_client_id,
            company.qbo_client_secret,
            self._qbo_redirect_uri(),
        )

    def _qbo_token_source(self):
        self.ensure_one()
        return CompanyTokenSource(self.env.registry, self.id, self._qbo_oauth_client())

    def _qbo_client_options(self):
        """Hook: extra keyword arguments for ``QboClient`` (limits, batch size, time scale)."""
        return {}

    def _qbo_client(self):
        """A ready ``QboClient`` for this company; ``UserError`` when it is not connected."""
        self.ensure_one()
        if not self._qbo_is_connected():
            raise UserError(
                self.env._("%(company)s is not connected to QuickBooks Online.", company=self.name)
            )
        return QboClient(
            self._qbo_environment(),
            self.sudo().qbo_realm_id,
            self._qbo_token_source(),
            **self._qbo_client_options(),
        )

    # ------------------------------------------------------------------ connect

    def _qbo_check_manager(self):
        if not self.env.user.has_group(MANAGER):
            raise AccessError(self.env._("Only QuickBooks managers can change the connection."))

    def _qbo_authorization_url(self):
        """Start connecting: a state bound to this user and company, and Intuit's consent URL."""
        self.ensure_one()
        self._qbo_check_manager()
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
        """Finish what the consent page started; the company whose Settings to show.

        The outcome is left in ``qbo_last_message`` for the Settings page.
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
            company._qbo_connect_with_code(code, realm_id)
        except (UserError, QboFault) as exc:
            message = exc.summary() if isinstance(exc, QboFault) else exc.args[0]
            company.sudo().write({"qbo_last_message": message, "qbo_last_message_type": "danger"})
        return company

    def _qbo_connect_with_code(self, code, realm_id):
        """Exchange the code, store the tokens (committed at once), read the QBO company."""
        self.ensure_one()
        self._qbo_check_manager()
        company = self.sudo()
        source = company._qbo_token_source()
        tokens = source.oauth.exchange_code(code, realm_id)
        tokens.realm_id = str(realm_id)
        if company.qbo_realm_id and company.qbo_realm_id != tokens.realm_id:
            company._qbo_forget_lists()
        source.store(tokens)
        company.write({"qbo_realm_id": tokens.realm_id, "qbo_last_message": False})
        self.env.invalidate_all()
        client = QboClient(
            company._qbo_environment(), tokens.realm_id, source, **company._qbo_client_options()
        )
        company._qbo_read_company(client)
        company.write(
            {
                "qbo_last_message": self.env._(
                    "Connected to %(name)s (company %(realm)s).",
                    name=company.qbo_company_name,
                    realm=company.qbo_realm_id,
                ),
                "qbo_last_message_type": "success",
            }
        )

    def _qbo_forget_lists(self):
        """A different QBO company: the cached lists and the mappings to them are void."""
        for model in self._qbo_list_models:
            self.env[model].sudo().with_context(active_test=False).search(
                [("company_id", "in", self.ids)]
            ).unlink()
        self.sudo().write({"qbo_sync_marks": False, "qbo_lists_synced_at": False})

    def _qbo_read_company(self, client):
        """Store the QBO company's name and the preferences the export depends on."""
        info = client.company_info()
        preferences = client.preferences()
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
        self._qbo_check_manager()
        company = self.sudo()
        source = company._qbo_token_source()
        warning = False
        token = company._qbo_token_record()
        if token.refresh_token:
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

    def _qbo_action_test_connection(self):
        """Read CompanyInfo and Preferences; a notification with what was found."""
        self.ensure_one()
        self._qbo_check_manager()
        try:
            client = self._qbo_client()
            self._qbo_read_company(client)
        except QboFault as fault:
            return self._qbo_notification(fault.summary(), "danger")
        company = self.sudo()
        message = self.env._(
            "Connected to %(name)s (company %(realm)s). Time Tracking is %(state)s in QuickBooks.",
            name=company.qbo_company_name,
            realm=company.qbo_realm_id,
            state=self.env._("on") if company.qbo_time_tracking else self.env._("off"),
        )
        return self._qbo_notification(
            message, "success" if company.qbo_time_tracking else "warning"
        )

    def _qbo_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("QuickBooks Online"),
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------ lists

    def _qbo_lists_stale(self):
        self.ensure_one()
        synced = self.sudo().qbo_lists_synced_at
        return not synced or synced < fields.Datetime.now() - self._qbo_lists_max_age

    def _qbo_sync_lists(self, force=False, full=False):
        """Refresh the cached QBO lists of these companies; returns the ones synced.

        Without ``force``, only companies whose lists are stale (see
        ``_qbo_lists_max_age``) are synced: call it before each export preview.
        Incremental unless ``full`` (or first sync); one sync per company at a
        time (a concurrent caller skips, or gets a ``UserError`` when forced).
        """
        synced = self.browse()
        for company in self.sudo():
            if not (force or full or company._qbo_lists_stale()):
                continue
            self.env.cr.execute(
                SQL("SELECT pg_try_advisory_xact_lock(hashtext('noko_qbo.lists'), %s)", company.id)
            )
            if not self.env.cr.fetchone()[0]:
                if force:
                    raise UserError(
                        self.env._(
                            "QuickBooks lists of %(company)s are being synced already.",
                            company=company.name,
                        )
                    )
                continue
            client = company._qbo_client()
            company._qbo_read_company(client)
            marks = dict(company.qbo_sync_marks or {})
            for model in self._qbo_list_models:
                self.env[model]._qbo_sync(company, client, marks, full=full)
            company.write({"qbo_sync_marks": marks, "qbo_lists_synced_at": fields.Datetime.now()})
            synced |= company
        return synced.sudo(False)

    def _qbo_action_sync_lists(self):
        self.ensure_one()
        self._qbo_check_manager()
        try:
            self._qbo_sync_lists(force=True)
        except QboFault as fault:
            return self._qbo_notification(fault.summary(), "danger")
        counts = {
            model: self.env[model]
            .sudo()
            .search_count([("company_id", "=", self.id), ("active_in_qbo", "=", True)])
            for model in self._qbo_list_models
        }
        return self._qbo_notification(
            self.env._(
                "QuickBooks lists synced: %(customers)s customers, %(payees)s employees and "
                "vendors, %(items)s service items, %(classes)s classes (active).",
                customers=counts["qbo.customer"],
                payees=counts["qbo.payee"],
                items=counts["qbo.item"],
                classes=counts["qbo.class"],
            ),
            "success",
        )

    @api.model
    def _qbo_cron_sync_lists(self):
        """Daily: a full sync of every connected company (catches merged/deleted records)."""
        companies = self.sudo().search([("qbo_realm_id", "!=", False)])
        for company in companies.filtered(lambda c: c._qbo_is_connected()):
            try:
                with self.env.cr.savepoint():
                    company._qbo_sync_lists(full=True)
            except (QboFault, UserError) as exc:
                summary = exc.summary() if isinstance(exc, QboFault) else exc.args[0]
                _logger.warning(
                    "QuickBooks lists of company %s not synced: %s", company.id, summary
                )
                if isinstance(exc, ReconnectNeeded):
                    company.write({"qbo_last_message": summary, "qbo_last_message_type": "danger"})
