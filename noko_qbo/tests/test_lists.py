from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..qbo.client import QboClient
from .common import QboCase


@tagged("post_install", "-at_install")
class TestListSync(QboCase):
    def cache(self, model, **domain):
        return (
            self.env[model]
            .with_context(active_test=False)
            .search(
                [("company_id", "=", self.company.id)] + [(k, "=", v) for k, v in domain.items()]
            )
        )

    def spy_queries(self):
        """Patch QboClient.query_all to record (entity, where, number of rows)."""
        calls = []
        original = QboClient.query_all

        def query_all(client, entity, where="", order_by="Id"):
            rows = original(client, entity, where=where, order_by=order_by)
            calls.append((entity, where, len(rows)))
            return rows

        return calls, patch.object(QboClient, "query_all", query_all)

    def test_first_sync_caches_every_list_with_active_flags(self):
        customers = self.cache("qbo.customer")
        sandbox_customers = self.sandbox.entities("Customer")
        self.assertEqual(len(customers), len(sandbox_customers))
        job = self.cache("qbo.customer", name="Menu Redesign")
        self.assertTrue(job.is_job)
        self.assertEqual(job.fully_qualified_name, "Café Zoë:Menu Redesign")
        self.assertEqual(job.parent_id, self.cache("qbo.customer", name="Café Zoë"))
        self.assertFalse(
            self.cache("qbo.customer", name="Old Harbor Brewing (closed)").active_in_qbo
        )
        payees = self.cache("qbo.payee")
        self.assertEqual(
            len(payees.filtered(lambda p: p.payee_type == "employee")),
            len(self.sandbox.entities("Employee")),
        )
        self.assertIn(
            "Pixel & Pine Studio",
            payees.filtered(lambda p: p.payee_type == "vendor").mapped("name"),
        )
        self.assertFalse(self.cache("qbo.item", name="Gardening").active_in_qbo)
        self.assertTrue(self.cache("qbo.item", name="Hours").active_in_qbo)
        self.assertEqual(len(self.cache("qbo.class")), len(self.sandbox.entities("Class")))
        self.assertTrue(self.company.qbo_lists_synced_at)
        self.assertTrue(self.company.qbo_tracks_classes)

    def test_payee_email_is_cached(self):
        record = self.qbo_add(
            "Vendor",
            {"DisplayName": "Mail Vendor", "PrimaryEmailAddr": {"Address": "mv@example.com"}},
        )
        self.company._qbo_sync_lists(force=True)
        payee = self.cache("qbo.payee", qbo_id=record["Id"], payee_type="vendor")
        self.assertEqual(payee.email, "mv@example.com")

    def test_incremental_sync_reads_only_changed_records(self):
        # move the mark past the seeding second (a mark's own second is read again: ">=")
        self.sandbox.advance_clock(60)
        self.qbo_add("Customer", {"DisplayName": "Earlier Client"})
        self.company._qbo_sync_lists(force=True)
        before = self.cache("qbo.customer")
        self.sandbox.advance_clock(120)
        added = self.qbo_add("Customer", {"DisplayName": "Fresh Client"})
        touched = self.cache("qbo.customer", name="Cool Cars")
        self.qbo_touch("Customer", touched.qbo_id, Active=False)
        calls, spy = self.spy_queries()
        with spy:
            self.company._qbo_sync_lists(force=True)
        customer_calls = [c for c in calls if c[0] == "Customer"]
        self.assertEqual(len(customer_calls), 1)
        entity, where, count = customer_calls[0]
        self.assertIn("MetaData.LastUpdatedTime >=", where)
        self.assertIn("Active IN (true, false)", where)
        self.assertEqual(count, 3)  # the two changes, and the mark's own second again
        self.assertEqual(len(self.cache("qbo.customer")), len(before) + 1)
        self.assertTrue(self.cache("qbo.customer", qbo_id=added["Id"]))
        self.assertFalse(touched.active_in_qbo)

    def test_sync_skips_fresh_lists_unless_forced(self):
        calls, spy = self.spy_queries()
        with spy:
            self.assertFalse(self.company._qbo_sync_lists())
        self.assertFalse(calls)
        self.company.sudo().qbo_lists_synced_at = fields.Datetime.now() - timedelta(hours=2)
        with spy:
            self.assertEqual(self.company._qbo_sync_lists(), self.company)
        self.assertTrue(calls)

    def test_full_sync_marks_records_gone_from_qbo_inactive(self):
        item = self.cache("qbo.item", name="Design")
        realm = self.sandbox.realms[self.sandbox.realm_id]
        with realm.lock:
            del realm.records["Item"][item.qbo_id]
        self.company._qbo_sync_lists(full=True)
        self.assertFalse(item.active_in_qbo)
        self.assertTrue(self.cache("qbo.item", name="Hours").active_in_qbo)

    def test_sync_writes_are_set_based(self):
        for n in range(30):
            self.qbo_add("Customer", {"DisplayName": f"Bulk Client {n}"})
        self.env.flush_all()
        with self.assertQueryCount(__system__=40):  # a loose bound: not one query per record
            self.company._qbo_sync_lists(force=True)
        self.assertEqual(
            len(self.cache("qbo.customer").filtered(lambda c: c.name.startswith("Bulk"))), 30
        )

    def test_daily_cron_syncs_connected_companies(self):
        self.company.sudo().qbo_lists_synced_at = False
        progress = []

        def commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
            progress.append((processed, remaining))  # committed per company in a real cron
            return float("inf")

        self.patch(type(self.env["ir.cron"]), "_commit_progress", commit_progress)
        self.env["res.company"]._qbo_cron_sync_lists()
        self.assertTrue(self.company.qbo_lists_synced_at)
        self.assertEqual(progress[0][1], 1)  # one connected company to do
        self.assertEqual(progress[1:], [(1, None)])
