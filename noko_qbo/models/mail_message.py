from odoo import models


class MailMessage(models.Model):
    """An export run's messages are part of its audit trail (see ``qbo_export``)."""

    _inherit = "mail.message"

    def _get_forbidden_access(self, operation):
        """Nobody rewrites what a run recorded: its summaries, notes and tracking.

        Odoo lets every notified partner write a message (the manager who started a
        run is notified of its summary); on runs, only one's own comments stay
        editable.
        """
        forbidden = super()._get_forbidden_access(operation)
        if operation not in ("write", "unlink") or self.env.su:
            return forbidden
        author = self.env.user.partner_id
        recorded = (
            (self - forbidden)
            .sudo()
            .filtered(
                lambda message: (
                    message.model == "qbo.export"
                    and not (message.message_type == "comment" and message.author_id == author)
                )
            )
        )
        return forbidden + self.browse(recorded.ids)
