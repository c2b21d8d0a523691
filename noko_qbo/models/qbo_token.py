"""Where a company's QuickBooks tokens live, and the Odoo ``TokenSource`` that rotates them.

The tokens sit in a row of their own (``qbo.token``), not on ``res_company``:
a rotation is committed at once in a separate cursor, and a caller whose
transaction then writes the company row (last sync date, company name...)
would otherwise hit a serialization failure under PostgreSQL's REPEATABLE READ.
"""

import logging
import time
from datetime import UTC

from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools import SQL

from ..qbo.errors import ReconnectNeeded
from ..qbo.oauth import Tokens, utcnow

_logger = logging.getLogger(__name__)

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
    # The database that received the tokens: a duplicate gets a new
    # database.uuid and must not rotate production's refresh token.
    database_uuid = fields.Char(groups="base.group_system", readonly=True)
    needs_reconnect = fields.Boolean(readonly=True)
    last_error = fields.Char(readonly=True)

    _company_uniq = models.Constraint(
        "unique(company_id)", "A company has one set of QuickBooks tokens."
    )

    @api.model
    def _qbo_database_uuid(self):
        return self.env["ir.config_parameter"].sudo().get_param("database.uuid")

    def _qbo_tokens(self):
        """The stored :class:`Tokens` (sudo: secrets), or raise ``ReconnectNeeded``."""
        self.ensure_one()
        token = self.sudo()
        if token.database_uuid != self._qbo_database_uuid():
            raise ReconnectNeeded(
                "These QuickBooks tokens belong to another database (this one is a copy): "
                "reconnect",
                code="copied_database",
            )
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
            "database_uuid": self._qbo_database_uuid(),
            "needs_reconnect": False,
            "last_error": False,
        }
        values.update({name: _to_db(getattr(tokens, name)) for name in _EXPIRIES})
        if tokens.realm_id:
            values["realm_id"] = tokens.realm_id
        return values


class CompanyTokenSource:
    """``tokens.TokenSource`` for one company, backed by its ``qbo.token`` row.

    Every read and write happens in a cursor of its own (``registry.cursor()``),
    so a rotated refresh token is committed before anyone uses the new access
    token, whatever becomes of the caller's transaction. Refreshes are
    serialized per company by ``SELECT ... FOR UPDATE`` on the token row; a
    caller that waited on the lock reuses the token the winner stored.
    """

    #: seconds before expiry at which ``current()`` refreshes proactively
    refresh_margin = 120
    #: a transaction that waited on the row lock sees a serialization failure under
    #: REPEATABLE READ: retry in a new transaction, which then sees the winner's token
    lock_attempts = 5

    def __init__(self, registry, company_id, oauth_client, *, clock=utcnow):
        self._registry = registry
        self._company_id = company_id
        self.oauth = oauth_client
        self._clock = clock
        self._tokens = None
        self.refresh_count = 0

    # ------------------------------------------------------------------ protocol

    def current(self):
        tokens = self._tokens or self._load()
        if tokens.access_expires_within(self.refresh_margin, now=self._clock()):
            tokens = self.refresh(tokens)
        return tokens

    def refresh(self, stale):
        for attempt in range(1, self.lock_attempts + 1):
            try:
                # The cursor commits when the block ends: the rotated token (or the
                # lost connection) is stored before anything is returned or raised.
                with self._registry.cursor() as cr:
                    tokens, fault = self._refresh_locked(cr, stale)
                break
            except (SerializationFailure, LockNotAvailable):
                if attempt == self.lock_attempts:
                    raise
                time.sleep(0.05 * attempt)
        if fault:
            raise fault
        return tokens

    # ------------------------------------------------------------------ storage

    def store(self, tokens):
        """Persist first tokens (after the code exchange), committed at once."""
        with self._registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            token = env["qbo.token"].search([("company_id", "=", self._company_id)])
            values = env["qbo.token"]._qbo_values(tokens)
            if token:
                token.write(values)
            else:
                env["qbo.token"].create({**values, "company_id": self._company_id})
        self._tokens = tokens

    def forget(self):
        """Delete the company's tokens, committed at once."""
        with self._registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["qbo.token"].search([("company_id", "=", self._company_id)]).unlink()
        self._tokens = None

    def _load(self):
        with self._registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            token = env["qbo.token"].search([("company_id", "=", self._company_id)])
            tokens, fault = self._checked(token)
        if fault:
            raise fault
        self._tokens = tokens
        return tokens

    def _checked(self, token):
        """``(tokens, None)`` or ``(None, ReconnectNeeded)``; a copied database's row is deleted."""
        if not token:
            return None, ReconnectNeeded("Not connected to QuickBooks Online", code="not_connected")
        try:
            return token._qbo_tokens(), None
        except ReconnectNeeded as fault:
            if fault.code == "copied_database":
                token.unlink()
            return None, fault

    def _refresh_locked(self, cr, stale):
        """Under the row lock: reuse a token another worker stored, or rotate and store."""
        cr.execute(
            SQL(
                "SELECT id FROM qbo_token WHERE company_id = %s FOR UPDATE",
                self._company_id,
            )
        )
        row = cr.fetchone()
        env = api.Environment(cr, SUPERUSER_ID, {})
        token = env["qbo.token"].browse(row[0] if row else [])
        stored, fault = self._checked(token)
        if fault:
            return None, fault
        if (
            stale is not None
            and stored.access_token != stale.access_token
            and not stored.access_expires_within(self.refresh_margin, now=self._clock())
        ):
            # Another worker rotated while we waited on the lock: use theirs.
            self._tokens = stored
            return stored, None
        try:
            fresh = self.oauth.refresh(stored.refresh_token, realm_id=stored.realm_id)
        except ReconnectNeeded as lost:
            token.write({"needs_reconnect": True, "last_error": lost.summary()})
            return None, lost
        if not fresh.realm_id:
            fresh.realm_id = stored.realm_id
        token.write(token._qbo_values(fresh))
        token.env.flush_all()
        self.refresh_count += 1
        _logger.info("QuickBooks tokens rotated for company %s", self._company_id)
        self._tokens = fresh
        return fresh, None
