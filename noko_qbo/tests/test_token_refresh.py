import threading
from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tests.common import release_test_lock

from ..qbo.errors import ReconnectNeeded
from .common import QboCase


@tagged("post_install", "-at_install")
class TestTokenRefresh(QboCase):
    def _stored(self):
        self.env.invalidate_all()
        return self.env["qbo.token"].sudo().search([("company_id", "=", self.company.id)])

    def _refreshes_at_server(self, refresh_token):
        """How many refresh tokens the sandbox issued for the grant (1 + refreshes)."""
        return len(self.sandbox.oauth._refresh[refresh_token].grant.refresh_tokens)

    def test_refresh_rotates_and_persists_before_returning(self):
        source = self.company._qbo_token_source()
        before = source.current()
        fresh = source.refresh(before)
        self.assertNotEqual(fresh.refresh_token, before.refresh_token)
        stored = self._stored()
        self.assertEqual(stored.refresh_token, fresh.refresh_token)
        self.assertEqual(stored.access_token, fresh.access_token)
        self.assertEqual(self.company.qbo_refresh_token, fresh.refresh_token)
        # a client built afterwards works with the rotated token
        self.assertTrue(self.company._qbo_client().company_info().get("CompanyName"))

    def test_concurrent_refreshes_make_one_rotation(self):
        sources = [self.company._qbo_token_source() for _ in range(2)]
        stale = sources[0].current()
        sources[1].current()
        issued_before = self._refreshes_at_server(stale.refresh_token)
        results, errors = [], []
        barrier = threading.Barrier(2)

        def refresh(source):
            try:
                barrier.wait(5)
                results.append(source.refresh(stale))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=refresh, args=(source,)) for source in sources]
        with release_test_lock():  # the worker threads open test cursors
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        self.assertFalse(errors)
        self.assertEqual(len(results), 2)
        self.assertEqual(results[0].refresh_token, results[1].refresh_token)
        self.assertEqual(sum(source.refresh_count for source in sources), 1)
        self.assertEqual(self._refreshes_at_server(stale.refresh_token), issued_before + 1)
        self.assertEqual(self._stored().refresh_token, results[0].refresh_token)
        self.assertTrue(self.company._qbo_client().company_info())

    def test_caller_with_stale_token_reuses_the_rotated_one(self):
        first, second = self.company._qbo_token_source(), self.company._qbo_token_source()
        stale = second.current()
        rotated = first.refresh(first.current())
        reused = second.refresh(stale)
        self.assertEqual(reused.access_token, rotated.access_token)
        self.assertEqual(second.refresh_count, 0)

    def test_expiring_access_token_is_refreshed_before_use(self):
        token = self._stored()
        old = token.refresh_token
        token.access_expires_at = token.access_expires_at - timedelta(hours=2)
        self.env.flush_all()
        tokens = self.company._qbo_token_source().current()
        self.assertNotEqual(tokens.refresh_token, old)
        self.assertEqual(self._stored().refresh_token, tokens.refresh_token)

    def test_revoked_connection_asks_for_reconnect(self):
        self.sandbox.revoke_tokens()
        source = self.company._qbo_token_source()
        # not assertRaises: it rolls back to a savepoint, hiding what was committed
        self.assertRaisesCommitted(ReconnectNeeded, source.refresh, source.current())
        self.env.invalidate_all()
        self.assertTrue(self._stored().needs_reconnect)
        self.assertFalse(self.company._qbo_is_connected())
        self.assertTrue(self.company.qbo_connection_error)
        with self.assertRaisesRegex(UserError, self.company.name):
            self.company._qbo_client()
