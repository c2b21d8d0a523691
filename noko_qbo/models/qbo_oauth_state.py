"""One OAuth authorization attempt: the ``state`` we sent to Intuit, bound to who asked.

Only a hash of the state is stored: the value itself travels in the browser's
URL and must not be recoverable from the database.
"""

import hashlib
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..qbo.oauth import OAuthClient


def _digest(state):
    return hashlib.sha256(state.encode()).hexdigest()


class QboOAuthState(models.Model):
    _name = "qbo.oauth.state"
    _description = "QuickBooks Online authorization attempt"
    _order = "id desc"

    #: how long an admin has to get through Intuit's consent page
    lifetime = timedelta(minutes=15)

    state_hash = fields.Char(required=True, readonly=True, index=True)
    user_id = fields.Many2one("res.users", required=True, readonly=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    expires_at = fields.Datetime(required=True, readonly=True)
    used = fields.Boolean(readonly=True)

    _state_hash_uniq = models.Constraint("unique(state_hash)", "OAuth states are unique.")

    @api.model
    def _qbo_issue(self, company):
        """A new state for the current user and ``company``; returns the clear value."""
        state = OAuthClient.new_state()
        self.sudo().create(
            {
                "state_hash": _digest(state),
                "user_id": self.env.uid,
                "company_id": company.id,
                "expires_at": fields.Datetime.now() + self.lifetime,
            }
        )
        return state

    @api.model
    def _qbo_consume(self, state):
        """The company the current user started ``state`` for; marks it used.

        Raises ``UserError`` for a missing, unknown, reused, expired state, or
        one issued to another user or for a company the user cannot access.
        """
        if not state:
            raise UserError(self.env._("QuickBooks sent no authorization state back."))
        self.env.cr.execute(
            "SELECT id FROM qbo_oauth_state WHERE state_hash = %s FOR UPDATE",
            [_digest(state)],
        )
        row = self.env.cr.fetchone()
        record = self.sudo().browse(row[0]) if row else self.sudo().browse()
        if not record:
            raise UserError(self.env._("Unknown authorization state: start again from Settings."))
        if record.user_id != self.env.user or record.company_id not in self.env.user.company_ids:
            raise UserError(
                self.env._(
                    "This authorization was started by someone else: start again from Settings."
                )
            )
        if record.used:
            raise UserError(
                self.env._("This authorization was already used: start again from Settings.")
            )
        if record.expires_at < fields.Datetime.now():
            raise UserError(
                self.env._("This authorization has expired: start again from Settings.")
            )
        record.used = True
        return record.company_id.sudo(False)

    @api.autovacuum
    def _gc_expired(self):
        self.sudo().search(
            [("expires_at", "<", fields.Datetime.now() - timedelta(days=1))]
        ).unlink()
