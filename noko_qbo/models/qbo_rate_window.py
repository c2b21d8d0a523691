"""A realm's send windows, in PostgreSQL: shared by every Odoo worker, run and company on it.

One row per (QBO environment, realm) holds the pacing state
(:class:`..qbo.windows.WindowState`, as JSON): completion times of recent
requests, leases of requests in flight, throttle pauses. The client's pacer
reads and writes it through :class:`RealmWindowStore`, in short transactions
of their own under the row lock, so any number of processes together stay
under QBO's limits and a pause one of them learns from a 429 holds for all.
"""

import json
from contextlib import contextmanager

from odoo import fields, models
from odoo.sql_db import Cursor
from odoo.tools import SQL

from ..qbo.windows import WindowState


class QboRateWindow(models.Model):
    _name = "qbo.rate.window"
    _description = "QuickBooks Online rate windows of a realm"
    _log_access = False

    key = fields.Char(required=True, readonly=True, index=True)
    state = fields.Json(readonly=True)

    _key_uniq = models.Constraint("unique(key)", "One row of rate windows per realm.")


class RealmWindowStore:
    """``pacing.WindowStore`` of one realm, backed by its ``qbo_rate_window`` row.

    Each transaction opens a cursor (a connection) of its own and commits at
    once: pacing state must be visible to the other workers now, whatever
    becomes of the caller's transaction. The clock is the database's
    (``clock_timestamp()``), the one clock workers on several machines share.
    """

    def __init__(self, registry, api_base, realm_id):
        self._registry = registry
        self.key = f"{api_base}|{realm_id}"

    @contextmanager
    def transaction(self):
        with self._registry.cursor() as cr:
            state = self._locked_state(cr)
            cr.execute("SELECT extract(epoch FROM clock_timestamp())")
            yield state, float(cr.fetchone()[0])
            cr.execute(
                SQL(
                    "UPDATE qbo_rate_window SET state = %s WHERE key = %s",
                    json.dumps(state.to_dict()),
                    self.key,
                )
            )

    def _locked_state(self, cr):
        if isinstance(cr, Cursor):
            # Under REPEATABLE READ a row updated while we waited for its lock is a
            # serialization failure; READ COMMITTED reads what was committed last.
            # (In test mode the cursor wraps the test's transaction: nothing to race.)
            cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        query = SQL("SELECT state FROM qbo_rate_window WHERE key = %s FOR UPDATE", self.key)
        cr.execute(query)
        row = cr.fetchone()
        if row is None:
            cr.execute(
                SQL(
                    "INSERT INTO qbo_rate_window (key, state) VALUES (%s, '{}') "
                    "ON CONFLICT (key) DO NOTHING",
                    self.key,
                )
            )
            cr.execute(query)
            row = cr.fetchone()
        return WindowState.from_dict(row[0] if isinstance(row[0], dict) else None)
