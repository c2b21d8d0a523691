"""The Odoo ``TokenSource`` of one company: its ``qbo.token`` row, rotated under a row lock."""

import logging
import time

from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from ..qbo.errors import ReconnectNeeded
from ..qbo.oauth import utcnow
from ..qbo.tokens import carry_over

_logger = logging.getLogger(__name__)


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
        """``(tokens, None)`` or ``(None, ReconnectNeeded)`` (also: used from a copy)."""
        if not token:
            return None, ReconnectNeeded("Not connected to QuickBooks Online", code="not_connected")
        try:
            return token._qbo_tokens(), None
        except ReconnectNeeded as fault:
            return None, fault

    def _refresh_locked(self, cr, stale):
        """Under the row lock: reuse a token another worker stored, or rotate and store."""
        # A worker that waited here on another's refresh meets a serialization failure
        # (retried by ``refresh``): expected, so not an ERROR in the server log.
        cr.execute(
            SQL("SELECT id FROM qbo_token WHERE company_id = %s FOR UPDATE", self._company_id),
            log_exceptions=False,
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
        fresh = carry_over(stored, fresh)
        token.write(token._qbo_values(fresh))
        token.env.flush_all()
        self.refresh_count += 1
        _logger.info("QuickBooks tokens rotated for company %s", self._company_id)
        self._tokens = fresh
        return fresh, None
