"""A line QBO refused goes through once the cause is fixed in QuickBooks (no replayed refusal).

QBO answers a repeated ``requestid`` with the original response: a re-export
after closed books were reopened, Time Tracking turned on or a customer
reactivated must be a new request, and still send each line once.
"""

from datetime import timedelta

from odoo.tests import tagged

from .test_export_flow import DAY, ExportCase


@tagged("post_install", "-at_install")
class TestRefusalsFixed(ExportCase):
    def assertRefusedThenSentOnce(self, lines, first, code, fix):
        self.assertEqual(first.state, "done_with_errors")
        self.assertEqual(set(lines.mapped("qbo_state")), {"approved"})
        for message in first.result_ids.mapped("message"):
            self.assertIn(f"[{code}]", message)
        replayed = self.sandbox.stats().get("replayed", 0)
        fix()
        second = self.export(lines)
        self.assertEqual(second.state, "done")
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})
        self.assertEqual([self.sent_copies(line) for line in lines], [1] * len(lines))
        self.assertEqual(self.sandbox.stats().get("replayed", 0), replayed, "no replayed refusal")

    def test_closed_books_then_reopened(self):
        lines = self.make_lines(3)
        self.sandbox.set_closed_books((DAY + timedelta(days=1)).isoformat())
        first = self.export(lines)
        self.assertRefusedThenSentOnce(
            lines, first, "6210", lambda: self.sandbox.set_closed_books(None)
        )

    def test_time_tracking_off_then_on(self):
        lines = self.make_lines(3)
        run, trap = self.confirm(lines)
        self.sandbox.set_time_tracking(False)  # turned off in QBO after the preview
        self.run_jobs(trap)
        self.assertRefusedThenSentOnce(
            lines, run, "6000", lambda: self.sandbox.set_time_tracking(True)
        )

    def test_customer_made_inactive_then_reactivated(self):
        lines = self.make_lines(3)
        run, trap = self.confirm(lines)
        customer = self.customer_cool_cars.qbo_id
        self.qbo_touch("Customer", customer, Active=False)  # after the preview
        self.run_jobs(trap)
        self.assertRefusedThenSentOnce(
            lines, run, "610", lambda: self.qbo_touch("Customer", customer, Active=True)
        )
