from odoo import http
from odoo.http import request

SETTINGS_URL = "/odoo/action-noko_qbo.res_config_settings_action"


class QboOAuthController(http.Controller):
    @http.route("/noko_qbo/oauth/callback", type="http", auth="user", methods=["GET"])
    def qbo_oauth_callback(self, state=None, code=None, realmId=None, error=None, **kwargs):
        """Intuit's redirect after the consent page; back to Settings with the outcome.

        The checks (state bound to this user and company, unused, unexpired)
        and the token exchange live in ``res.company._qbo_oauth_callback``.
        """
        request.env["res.company"]._qbo_oauth_callback(
            state, code=code, realm_id=realmId, error=error
        )
        return request.redirect(SETTINGS_URL, local=True)
