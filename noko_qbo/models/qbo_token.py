"""Where a company's QuickBooks tokens live (see ``company_token_source`` for their rotation).

The tokens sit in a row of their own (``qbo.token``), not on ``res_company``:
a rotation is committed at once in a separate cursor, and a caller whose
transaction then writes the company row (last sync date, company name...)
would otherwise hit a serialization failure under PostgreSQL's REPEATABLE READ.
"""

from datetime import UTC

from odoo import api, fields, models

from ..qbo.errors import ReconnectNeeded
from ..qbo.oauth import Tokens

_EXPIRIES = ("access_expires_at", "refresh_expires_at", "refresh_hard_expires_at")


def _to_db(value):
    """Aware UTC datetime -> Odoo's naive UTC datetime."""
    return value.astimezone(UTC).replace(tzinfo=None) if value else False


def _from_db(value):
    return value.replace(tzinfo=UTC) if value else None


class QboToken(models.Model):
    _name = "qbo.token"
    _description = "QuickBooks Online tokens"
    _rec_name = "company_id"

    company_id = fields.Many2one("res.company", required=True, ondelete="cascade", index=True)
    realm_id = fields.Char(readonly=True)
    access_token = fields.Char(groups="base.group_system", readonly=True)
    refresh_token = fields.Char(groups="base.group_system", readonly=True)
    access_expires_at = fields.Datetime(readonly=True)
    refresh_expires_at = fields.Datetime(readonly=True)
    refresh_hard_expires_at = fields.Datetime(readonly=True)
    # Where the tokens were received: a copy of the database (Odoo's duplicate, a raw
    # `createdb -T`, a restore elsewhere) must not use, and by rotating kill,
    # production's refresh token. See `_qbo_binding_mismatch`.
    database_uuid = fields.Char(groups="base.group_system", readonly=True)
    database_name = fields.Char(groups="base.group_system", readonly=True)
    base_url = fields.Char("Web Address", groups="base.group_system", readonly=True)
    needs_reconnect = fields.Boolean(readonly=True)
    last_error = fields.Char(readonly=True)

    _company_uniq = models.Constraint(
        "unique(company_id)", "A company has one set of QuickBooks tokens."
    )

    @api.model
    def _qbo_database_uuid(self):
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid")

    @api.model
    def _qbo_here(self):
        """What binds tokens to this database: its uuid, its name and its web address."""
        params = self.env["ir.config_parameter"].sudo()
        return {
            "database_uuid": params.get_param("database.uuid") or "",
            "database_name": self.env.cr.dbname,
            "base_url": (params.get_param("web.base.url") or "").rstrip("/"),
        }

    def _qbo_binding_mismatch(self):
        """Why these tokens may not be used from this database ('' when they may).

        Odoo's own duplicate gets a new uuid; a raw ``createdb -T`` copy keeps the
        uuid but not the name; a restore under the same name answers on another
        web address. Any of them is a copy until an administrator says otherwise
        (:meth:`_qbo_rebind`).
        """
        self.ensure_one()
        token, here = self.sudo(), self._qbo_here()
        labels = {
            "database_uuid": self.env._("database identifier"),
            "database_name": self.env._("database name %(name)s", name=token.database_name),
            "base_url": self.env._("web address %(url)s", url=token.base_url),
        }
        changed = [
            labels[name] for name in here if (token[name] or "") != here[name] and token[name]
        ]
        if not token.database_uuid:
            changed.insert(0, labels["database_uuid"])
        if not changed:
            return ""
        return self.env._(
            "This database is not the one QuickBooks Online was connected from (%(what)s "
            "differ): it may be a copy, and must not use production's connection.",
            what=", ".join(changed),
        )

    def _qbo_rebind(self):
        """An administrator's word: this database is the production one now."""
        self.sudo().write(self._qbo_here())

    def _qbo_tokens(self):
        """The stored :class:`Tokens` (sudo: secrets), or raise ``ReconnectNeeded``."""
        self.ensure_one()
        token = self.sudo()
        mismatch = token._qbo_binding_mismatch()
        if mismatch:
            raise ReconnectNeeded(mismatch, code="copied_database")
        if token.needs_reconnect or not token.refresh_token:
            raise ReconnectNeeded(token.last_error or "QuickBooks connection lost: reconnect")
        return Tokens(
            access_token=token.access_token or "",
            refresh_token=token.refresh_token,
            access_expires_at=_from_db(token.access_expires_at),
            refresh_expires_at=_from_db(token.refresh_expires_at),
            refresh_hard_expires_at=_from_db(token.refresh_hard_expires_at),
            realm_id=token.realm_id,
        )

    @api.model
    def _qbo_values(self, tokens):
        values = {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            **self._qbo_here(),
            "needs_reconnect": False,
            "last_error": False,
        }
        values.update({name: _to_db(getattr(tokens, name)) for name in _EXPIRIES})
        if tokens.realm_id:
            values["realm_id"] = tokens.realm_id
        return values
