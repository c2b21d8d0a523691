"""A copy of the database never uses production's QuickBooks connection (issue: raw copies).

Odoo's duplicate and ``odoo neutralize`` were handled before; a raw ``createdb -T``
copy or a restore elsewhere keeps ``database.uuid``. The stored tokens are
bound to the uuid, the database name and ``web.base.url`` at connection time:
any difference stops every QBO call until an administrator says which
database is production.
"""

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..qbo.errors import ReconnectNeeded
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestDatabaseCopies(ExportCase):
    def token(self):
        self.env.invalidate_all()
        return self.env["qbo.token"].sudo().search([("company_id", "=", self.company.id)])

    def refreshes_at_intuit(self):
        token = self.token()
        return len(self.sandbox.oauth._refresh[token.refresh_token].grant.refresh_tokens)

    # The three ways a copy shows, each as a test of the same guard.

    def copy_by_odoo_duplicate(self):
        self.env["ir.config_parameter"].sudo().set_param("database.uuid", "a-duplicate")

    def copy_by_raw_createdb(self):
        # same uuid, another name: the copy runs under its new name
        self.token().sudo().database_name = "production_db"

    def copy_by_restore_elsewhere(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "https://staging.example")

    COPIES = ("copy_by_odoo_duplicate", "copy_by_raw_createdb", "copy_by_restore_elsewhere")

    def test_a_copy_calls_nothing_and_says_why(self):
        for copy in self.COPIES:
            with self.subTest(copy=copy), self.env.cr.savepoint(flush=False) as savepoint:
                grants = self.refreshes_at_intuit()
                requests = self.sandbox.stats()["requests"]
                getattr(self, copy)()
                self.env.invalidate_all()
                self.assertFalse(self.company._qbo_is_connected())
                self.assertTrue(self.company.qbo_used_from_copy)
                self.assertIn(
                    "not the one QuickBooks Online was connected from",
                    (self.company.qbo_connection_error),
                )
                with self.assertRaises(UserError):
                    self.company._qbo_client()
                with self.assertRaisesRegex(ReconnectNeeded, "connected from"):
                    self.company._qbo_token_source().current()
                self.assertEqual(self.refreshes_at_intuit(), grants)  # production's token lives
                self.assertEqual(self.sandbox.stats()["requests"], requests)
                self.assertTrue(self.token(), "the tokens stay for the admin's decision")
                savepoint.rollback()

    def test_an_export_from_a_copy_sends_nothing(self):
        lines = self.make_lines(2)
        run, trap = self.confirm(lines)
        self.copy_by_raw_createdb()
        self.run_jobs(trap)
        self.assertEqual(run.state, "failed")
        self.assertIn("Keep the connection".lower(), run.failure_message.lower())
        self.assertEqual(set(lines.mapped("qbo_state")), {"approved"})
        self.assertFalse(self.sandbox.entities("TimeActivity"))

    def test_admin_keeps_the_connection_in_the_production_database(self):
        self.copy_by_restore_elsewhere()
        self.assertFalse(self.company._qbo_is_connected())
        settings = self.env["res.config.settings"].create({})
        settings.action_qbo_keep_connection()
        self.env.invalidate_all()
        self.assertTrue(self.company._qbo_is_connected())
        self.assertFalse(self.company.qbo_used_from_copy)
        self.assertEqual(self.token().base_url, "https://staging.example")
        self.assertTrue(self.company._qbo_client().company_info())

    def test_disconnecting_a_copy_does_not_revoke_productions_grant(self):
        token = self.token()
        grant = self.sandbox.oauth._refresh[token.refresh_token].grant
        self.copy_by_odoo_duplicate()
        self.env["res.config.settings"].create({}).action_qbo_disconnect()
        self.assertFalse(self.token())
        self.assertFalse(grant.revoked)

    def test_only_admins_keep_a_connection(self):
        self.copy_by_raw_createdb()
        with self.assertRaises(UserError):  # AccessError is a UserError
            self.company.with_user(self.manager)._qbo_keep_connection()
        self.assertTrue(self.company.qbo_used_from_copy)
