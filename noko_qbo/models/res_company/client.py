"""Building a company's QBO client: environment, OAuth app, token source, ``QboClient``."""

from odoo import api, models, tools
from odoo.exceptions import UserError

from ...controllers.oauth import QboOAuthController
from ...qbo import environments
from ...qbo.client import QboClient
from ...qbo.oauth import OAuthClient
from ..company_token_source import CompanyTokenSource


class ResCompany(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

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
