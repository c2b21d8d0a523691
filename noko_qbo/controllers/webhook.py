from odoo import SUPERUSER_ID, http
from odoo.http import request


class QboWebhookController(http.Controller):
    #: Intuit's webhook endpoint: register ``web.base.url`` + this in the Intuit app.
    _webhook_url = "/noko_qbo/webhook"

    @http.route(
        _webhook_url,
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        readonly=False,
        save_session=False,
    )
    def qbo_webhook(self, **kwargs):
        """Intuit's change notifications (legacy and CloudEvents), signed ``intuit-signature``.

        Answers within Intuit's 3 s: it verifies, stores the relevant events and
        enqueues the sync jobs (``res.company._qbo_webhook_receive``); 401 and
        nothing changed for a missing or wrong signature, 200 for realms it
        does not know. The body is never logged.
        """
        if not request.db:
            return request.make_response("", status=404)
        status = request.env(user=SUPERUSER_ID)["res.company"]._qbo_webhook_receive(
            request.httprequest.get_data(), request.httprequest.headers.get("intuit-signature")
        )
        return request.make_response("", status=status)
