"""Building a company's QBO client: environment, OAuth app, token source, ``QboClient``."""

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ...const import ADMIN_GROUP
from ...controllers.oauth import QboOAuthController
from ...qbo import environments
from ...qbo.client import QboClient
from ...qbo.errors import ReconnectNeeded
from ...qbo.limits import Limits
from ...qbo.oauth import OAuthClient
from ..company_token_source import CompanyTokenSource
from ..qbo_rate_window import RealmWindowStore
from ..qbo_user_message import user_message

_DEFAULTS = Limits()


class ResCompany(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    # QBO's limits per realm and app; change them only for an app on other terms with Intuit.
    qbo_requests_per_minute = fields.Integer(
        "QuickBooks Requests per Minute", default=_DEFAULTS.requests_per_minute, groups=ADMIN_GROUP
    )
    qbo_batch_per_minute = fields.Integer(
        "QuickBooks Batch Requests per Minute",
        default=_DEFAULTS.batch_per_minute,
        groups=ADMIN_GROUP,
    )
    qbo_concurrent_requests = fields.Integer(
        "QuickBooks Concurrent Requests", default=_DEFAULTS.concurrent, groups=ADMIN_GROUP
    )
    qbo_headroom_per_minute = fields.Integer(
        "Requests Left for Other Work",
        default=_DEFAULTS.headroom_per_minute,
        groups=ADMIN_GROUP,
        help="Of the requests per minute, how many exports leave to list syncs, previews and "
        "other apps' reads running meanwhile.",
    )

    @api.constrains(
        "qbo_requests_per_minute",
        "qbo_batch_per_minute",
        "qbo_concurrent_requests",
        "qbo_headroom_per_minute",
    )
    def _check_qbo_limits(self):
        for company in self.sudo():
            rates = (
                company.qbo_requests_per_minute,
                company.qbo_batch_per_minute,
                company.qbo_concurrent_requests,
            )
            if min(rates) < 1 or company.qbo_headroom_per_minute < 0:
                raise ValidationError(
                    self.env._(
                        "The QuickBooks limits of %(company)s must be positive "
                        "(the headroom: 0 or more).",
                        company=company.name,
                    )
                )

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
        return base.rstrip("/") + QboOAuthController._callback_url

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

    def _qbo_copy_fault(self):
        token = self._qbo_token_record()
        return ReconnectNeeded(token._qbo_binding_mismatch(), code="copied_database")

    def _qbo_limits(self):
        company = self.sudo()
        return Limits(
            requests_per_minute=company.qbo_requests_per_minute or _DEFAULTS.requests_per_minute,
            batch_per_minute=company.qbo_batch_per_minute or _DEFAULTS.batch_per_minute,
            concurrent=company.qbo_concurrent_requests or _DEFAULTS.concurrent,
            headroom_per_minute=max(0, company.qbo_headroom_per_minute),
        )

    def _qbo_client_options(self):
        """Hook: extra keyword arguments for ``QboClient`` (batch size, time scale...)."""
        return {}

    def _qbo_client(self):
        """A ready ``QboClient`` for this company; ``UserError`` when it is not connected.

        Its pacing state is the realm's row in PostgreSQL: shared by every worker.
        """
        self.ensure_one()
        if not self._qbo_is_connected():
            if self.sudo().qbo_used_from_copy:
                raise UserError(user_message(self.env, self.sudo()._qbo_copy_fault()))
            raise UserError(
                self.env._("%(company)s is not connected to QuickBooks Online.", company=self.name)
            )
        environment = self._qbo_environment()
        realm_id = self.sudo().qbo_realm_id
        options = {
            "limits": self._qbo_limits(),
            "window_store": RealmWindowStore(self.env.registry, environment.api_base, realm_id),
            **self._qbo_client_options(),
        }
        return QboClient(environment, realm_id, self._qbo_token_source(), **options)
