import logging
import re
from urllib.parse import quote

from odoo import http
from odoo.http import request

from ..const import SETTINGS_ACTION


class QboOAuthController(http.Controller):
    #: Intuit's redirect target: register ``web.base.url`` + this in the Intuit app.
    _callback_url = "/noko_qbo/oauth/callback"

    @http.route(_callback_url, type="http", auth="user", methods=["GET"])
    def qbo_oauth_callback(self, state=None, code=None, realmId=None, error=None, **kwargs):
        """Intuit's redirect after the consent page.

        Success: back to Settings, which shows the connected company. Any
        problem: a page telling this user (only) what went wrong; nothing was
        stored. The checks live in ``res.company._qbo_oauth_callback``.
        """
        company, problem = request.env["res.company"]._qbo_oauth_callback(
            state, code=code, realm_id=realmId, error=error
        )
        if problem:
            return request.render(
                "noko_qbo.oauth_callback_problem",
                {"problem": problem, "settings_url": f"/odoo/action-{SETTINGS_ACTION}"},
                status=400,
            )
        return request.redirect(f"/odoo/action-{SETTINGS_ACTION}", local=True)


class _RedactCallbackQuery(logging.Filter):
    """Odoo's request log writes whole URLs: keep OAuth codes and states out of it."""

    _url = QboOAuthController._callback_url
    # as requested (to the end of the URL), and quoted as another URL's ``redirect=`` value
    _query = re.compile(
        rf"(?P<url>{re.escape(_url)}\?)\S*"
        rf"|(?P<quoted>{re.escape(quote(_url + '?', safe=''))})[^\s&\"]*",
        re.IGNORECASE,
    )

    def filter(self, record):
        if record.args and isinstance(record.args, tuple) and isinstance(record.args[0], str):
            redacted = self._query.sub(
                lambda found: (found["url"] or found["quoted"]) + "<redacted>", record.args[0]
            )
            if redacted != record.args[0]:
                record.args = (redacted, *record.args[1:])
        return True


def _install_log_filter():
    request_log = logging.getLogger("werkzeug")
    if not any(isinstance(known, _RedactCallbackQuery) for known in request_log.filters):
        request_log.addFilter(_RedactCallbackQuery())


_install_log_filter()
