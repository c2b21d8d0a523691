"""The webhook route over real HTTP: deliveries signed by the sandbox itself, or by the test."""

import base64
import hashlib
import hmac
import json

from odoo.tests import HttpCase, tagged

from .test_qbo_side import SyncCase

VERIFIER = "noko-qbo-test-verifier"  # noqa: S105 - the test app's, not a real secret
ROUTE = "/noko_qbo/webhook"


def signed(body, token=VERIFIER):
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@tagged("post_install", "-at_install")
class TestWebhook(SyncCase, HttpCase):
    def setUp(self):
        super().setUp()
        self.company.sudo().qbo_webhook_verifier_token = VERIFIER
        self.subscribe()
        self.addCleanup(self.sandbox.set_webhook, None, None)

    def subscribe(self, fmt="cloudevents"):
        # Delivered only when a test flushes: the route waits for the test's lock meanwhile.
        self.sandbox.set_webhook(self.base_url() + ROUTE, VERIFIER, format=fmt, delay=10**6)

    # ------------------------------------------------------------------ helpers

    def deliver(self):
        """Let the sandbox deliver what is pending to Odoo's route, signed with the verifier."""
        self.env.flush_all()  # the route reads the test's transaction
        with self.allow_requests(all_requests=True):
            self.assertTrue(self.sandbox.flush_webhooks(timeout=20))
        self.env.invalidate_all()
        return self.sandbox.webhook_deliveries()

    def post(self, body, signature=None):
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["intuit-signature"] = signature
        answer = self.url_open(ROUTE, data=body, headers=headers)
        self.env.invalidate_all()
        return answer

    def pending_jobs(self):
        return self.env["queue.job"].search(
            [
                ("method_name", "=", "_qbo_job_sync_time_activities"),
                ("state", "=", "pending"),
            ]
        )

    def events(self):
        return self.env["qbo.webhook.event"].sudo().search([])

    def run_sync_job(self):
        [job] = self.pending_jobs()
        self.assertEqual(
            job.identity_key, f"noko_qbo-sync-{self.company.id}-{self.company.qbo_realm_id}"
        )
        self.assertEqual(job.channel, "root.noko_qbo_sync")
        self.assertEqual(job.records, self.company)
        job.records._qbo_job_sync_time_activities()
        self.env.invalidate_all()

    def cloud_events(self, *changes, realm=None):
        """A CloudEvents body: ``changes`` are ``(TimeActivity id, verb)``."""
        return json.dumps(
            [
                {
                    "specversion": "1.0",
                    "id": f"event-{activity_id}-{verb}",
                    "source": "intuit.test",
                    "type": f"qbo.timeactivity.{verb}.v1",
                    "datacontenttype": "application/json",
                    "time": "2026-12-01T10:00:00Z",
                    "intuitentityid": activity_id,
                    "intuitaccountid": realm or self.sandbox.realm_id,
                    "data": {},
                }
                for activity_id, verb in changes
            ]
        ).encode()

    # ------------------------------------------------------------------ the sandbox's deliveries

    def test_billing_and_deleting_in_quickbooks_reach_odoo_by_cloudevents(self):
        lines, run = self.exported(3)
        billed, deleted, untouched = lines
        self.sandbox.bill_time_activities([billed.qbo_time_activity_id])
        self.sandbox.delete_time_activities([deleted.qbo_time_activity_id])
        deliveries = self.deliver()
        self.assertTrue(deliveries)
        self.assertEqual({d["status"] for d in deliveries}, {200})
        # the route only stored the events and enqueued one job: nothing read from QBO yet
        self.assertEqual(billed.qbo_billing_status, "unbilled")
        self.assertEqual(
            set(self.events().mapped("entity_id")),
            {billed.qbo_time_activity_id, deleted.qbo_time_activity_id, *self.invoice_ids()},
        )
        self.run_sync_job()
        self.assertEqual((billed.qbo_state, billed.qbo_billing_status), ("exported", "billed"))
        self.assertEqual(deleted.qbo_state, "deleted")
        self.assertEqual(untouched.qbo_billing_status, "unbilled")
        self.assertFalse(self.events())
        self.assertIn("deleted", deleted.qbo_error)

    def invoice_ids(self):
        return [invoice["Id"] for invoice in self.sandbox.entities("Invoice")]

    def test_legacy_notifications_are_followed_too(self):
        line, _run = self.exported(1)
        self.subscribe(fmt="legacy")
        self.sandbox.delete_time_activities([line.qbo_time_activity_id])
        [*_creates, delivery] = self.deliver()
        self.assertIn("eventNotifications", delivery["body"])
        self.assertEqual(delivery["status"], 200)
        self.run_sync_job()
        self.assertEqual(line.qbo_state, "deleted")

    def test_a_burst_of_deliveries_makes_one_pending_job(self):
        lines, _run = self.exported(2)
        for line in lines:
            self.sandbox.delete_time_activities([line.qbo_time_activity_id])
            self.deliver()
        # the export's creates with the first delete, then the second delete
        self.assertEqual(len(self.sandbox.webhook_deliveries()), 2)
        self.assertEqual(len(self.pending_jobs()), 1)
        self.run_sync_job()
        self.assertEqual(set(lines.mapped("qbo_state")), {"deleted"})

    # ------------------------------------------------------------------ signatures

    def test_a_wrong_or_missing_signature_is_401_and_changes_nothing(self):
        line, _run = self.exported(1)
        self.sandbox.delete_time_activities([line.qbo_time_activity_id])
        body = self.cloud_events((line.qbo_time_activity_id, "deleted"))
        self.assertEqual(self.post(body, signed(body, "not-the-verifier")).status_code, 401)
        self.assertEqual(self.post(body).status_code, 401)
        self.assertEqual(self.post(body, "").status_code, 401)
        tampered = body.replace(b"deleted", b"updated")
        self.assertEqual(self.post(tampered, signed(body)).status_code, 401)
        self.assertFalse(self.events())
        self.assertFalse(self.pending_jobs())
        self.assertEqual(line.qbo_state, "exported")

    def test_a_replayed_body_does_no_harm(self):
        lines, run = self.exported(2)
        self.sandbox.delete_time_activities([lines[0].qbo_time_activity_id])
        body = self.cloud_events((lines[0].qbo_time_activity_id, "deleted"))
        self.assertEqual(self.post(body, signed(body)).status_code, 200)
        self.run_sync_job()
        notes = len(run.message_ids)
        deleted_at = lines[0].qbo_deleted_at
        for _replay in range(2):
            self.assertEqual(self.post(body, signed(body)).status_code, 200)
        self.assertEqual(len(self.pending_jobs()), 1)
        self.run_sync_job()
        self.assertEqual(lines.mapped("qbo_state"), ["deleted", "exported"])
        self.assertEqual(lines[0].qbo_deleted_at, deleted_at)
        self.assertEqual(len(run.message_ids), notes)

    def test_unknown_realms_and_lines_are_ignored(self):
        line, _run = self.exported(1)
        body = self.cloud_events((line.qbo_time_activity_id, "deleted"), realm="999999")
        self.assertEqual(self.post(body, signed(body)).status_code, 200)
        body = self.cloud_events(("424242", "deleted"))  # not a line of ours
        self.assertEqual(self.post(body, signed(body)).status_code, 200)
        self.assertFalse(self.events())
        self.assertFalse(self.pending_jobs())

    def test_a_malformed_signed_body_is_400(self):
        body = b'{"not": "a notification"}'
        self.assertEqual(self.post(body, signed(body)).status_code, 400)

    def test_a_delivery_signed_for_another_company_never_touches_this_ones_lines(self):
        line, _run = self.exported(1)
        self.sandbox.delete_time_activities([line.qbo_time_activity_id])
        other_realm = self.sandbox.seed({"CompanyInfo": {"CompanyName": "Someone Else Inc"}})
        self.env["res.company"].create({"name": "Elsewhere Ltd"}).sudo().write(
            {"qbo_realm_id": other_realm, "qbo_webhook_verifier_token": "elsewhere"}
        )
        # a valid signature with the other company's token, naming this company's realm
        body = self.cloud_events((line.qbo_time_activity_id, "deleted"))
        self.assertEqual(self.post(body, signed(body, "elsewhere")).status_code, 200)
        self.assertFalse(self.events())
        self.assertFalse(self.pending_jobs())
        self.assertEqual(line.qbo_state, "exported")
