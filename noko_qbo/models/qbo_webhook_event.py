from odoo import fields, models


class QboWebhookEvent(models.Model):
    """A change QBO notified by webhook, waiting for its company's sync job.

    Written by the webhook route once the delivery's signature verified, for
    TimeActivities bound to exported lines (and invoices, which bill them);
    read and deleted by ``res.company._qbo_sync_time_activities``. Only ids
    and times: the job reads the records from QBO, so a replayed or
    out-of-order notification cannot record anything QBO does not hold.
    """

    _name = "qbo.webhook.event"
    _description = "QuickBooks Online change notification"
    _order = "id"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True, ondelete="cascade"
    )
    realm_id = fields.Char("QuickBooks Company Id", required=True, readonly=True)
    entity = fields.Char(required=True, readonly=True)
    entity_id = fields.Char("QuickBooks Id", required=True, readonly=True)
    operation = fields.Char(readonly=True)
    occurred_at = fields.Datetime(readonly=True)
    event_id = fields.Char("CloudEvents Id", readonly=True)
