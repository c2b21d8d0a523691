from datetime import date

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from ..qbo import payloads
from .common import QboCase, map_employee

DAY = date(2025, 3, 3)


class ExportCase(QboCase):
    """QboCase plus a few projects and employees, some mapped by name, some not."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls._qbo_test_cursor_allowed():
            cls.company.sudo()._qbo_read_company(cls.company.sudo()._qbo_client())
        cls.manager = new_test_user(
            cls.env,
            login="qbo_export_manager",
            groups="noko_qbo.group_qbo_manager,hr_timesheet.group_hr_timesheet_approver",
            email="manager@example.com",
        )
        cls.timesheet_user = new_test_user(
            cls.env, login="qbo_export_ts_user", groups="hr_timesheet.group_hr_timesheet_user"
        )
        Customer = cls.env["qbo.customer"].sudo()
        cls.item_hours = cls.env["qbo.item"].sudo().search([("name", "=", "Hours")])
        cls.company.sudo().qbo_default_item_id = cls.item_hours
        partner = cls.env["res.partner"].create({"name": "Cool Cars Inc."})
        cls.project = cls.env["project.project"].create(
            {"name": "Cool Cars", "partner_id": partner.id, "allow_timesheets": True}
        )
        cls.project_unmapped = cls.env["project.project"].create(
            {"name": "Moon Base Internal", "allow_timesheets": True}
        )
        cls.customer_cool_cars = Customer.search([("name", "=", "Cool Cars")])
        cls.emily = cls.env["hr.employee"].create({"name": "Emily Platt", "hourly_cost": 80})
        cls.john = cls.env["hr.employee"].create({"name": "John Johnson"})
        cls.nadia = cls.env["hr.employee"].create({"name": "Nadia Petrova"})
        cls.nobody = cls.env["hr.employee"].create({"name": "Zed Unknown"})

    # A sandbox whose clock runs 1000 times faster: the client reads it from the
    # discovery document and shrinks its rate windows, backoff and throttle pauses alike.
    # Access tokens live long enough for a test to never see them expire.
    sandbox_options = {"time_scale": 1000.0, "access_token_lifetime": 10**9}

    def setUp(self):
        super().setUp()
        # fresh tokens and no leftover faults: a test may revoke or inject
        self.sandbox.injector.clear()
        self.qbo_connect(self.company)

    # ------------------------------------------------------------------ helpers

    def make_lines(self, count=1, project=None, employee=None, hours=1.5, day=DAY, **values):
        project = project or self.project
        employee = employee or self.emily
        return self.env["account.analytic.line"].create(
            [
                {
                    "name": f"Work {index}",
                    "project_id": project.id,
                    "employee_id": employee.id,
                    "unit_amount": hours,
                    "date": day,
                    **values,
                }
                for index in range(count)
            ]
        )

    def preview(self, lines, user=None):
        Preview = self.env["qbo.export.preview"].with_user(user or self.manager)
        action = Preview.with_context(
            active_model="account.analytic.line", active_ids=lines.ids
        ).action_open_from_timesheets()
        return Preview.browse(action["res_id"])

    def confirm(self, lines, user=None):
        """Preview and confirm under trap_jobs; returns (run, trap) with jobs not run."""
        preview = self.preview(lines, user)
        with trap_jobs() as trap:
            action = preview.action_confirm()
        return self.env["qbo.export"].browse(action["res_id"]), trap

    def export(self, lines, user=None):
        """The whole path: preview, confirm, run every job (including chained ones)."""
        preview = self.preview(lines, user)
        with trap_jobs() as trap:
            action = preview.action_confirm()
            self.run_jobs(trap)
        return self.env["qbo.export"].browse(action["res_id"])

    @staticmethod
    def run_jobs(trap):
        while trap.enqueued_jobs:
            trap.perform_enqueued_jobs()

    def sent_copies(self, line):
        """How many TimeActivities the sandbox holds for this line (by its marker)."""
        tag = payloads.marker(line._qbo_request_key())
        return len(
            [
                activity
                for activity in self.sandbox.entities("TimeActivity")
                if payloads.marker_in(activity.get("Description")) == tag
            ]
        )


@tagged("post_install", "-at_install")
class TestExportFlow(ExportCase):
    def test_confirm_approves_locks_and_enqueues_chunks_on_the_channel(self):
        self.env["ir.config_parameter"].sudo().set_param("noko_qbo.export_chunk_size", 2)
        lines = self.make_lines(5)
        run, trap = self.confirm(lines)
        self.assertEqual(set(lines.mapped("qbo_state")), {"approved"})
        self.assertEqual(lines.qbo_export_id, run)
        self.assertEqual(run.state, "queued")
        self.assertEqual(run.count_total, 5)
        self.assertEqual(run.user_id, self.manager)
        trap.assert_jobs_count(3, only=run._qbo_export_chunk)
        trap.assert_jobs_count(1, only=run._qbo_finish)
        function = self.env["queue.job.function"].search(
            [("name", "=", "<qbo.export>._qbo_export_chunk")]
        )
        self.assertEqual(function.channel, "root.noko_qbo")
        self.assertTrue(function.retry_pattern)

    def test_double_confirm_enqueues_once(self):
        lines = self.make_lines(3)
        preview = self.preview(lines)
        with trap_jobs() as trap:
            first = preview.action_confirm()
            second = preview.action_confirm()
            self.assertEqual(first["res_id"], second["res_id"])
            trap.assert_jobs_count(2)  # one chunk + the summary
        self.assertEqual(self.env["qbo.export"].search_count([("id", "=", first["res_id"])]), 1)

    def test_full_flow_sends_time_activities_and_reports(self):
        lines = self.make_lines(2, hours=1.5) | self.make_lines(1, employee=self.nadia, hours=0.26)
        run = self.export(lines)
        self.assertEqual(run.state, "done")
        self.assertEqual((run.count_exported, run.count_failed), (3, 0))
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})
        for line in lines:
            self.assertTrue(line.qbo_time_activity_id)
            self.assertEqual(self.sent_copies(line), 1)
        stored = {activity["Id"]: activity for activity in self.sandbox.entities("TimeActivity")}
        emily_activity = stored[lines[0].qbo_time_activity_id]
        self.assertEqual(emily_activity["TxnDate"], "2025-03-03")
        self.assertEqual((emily_activity["Hours"], emily_activity["Minutes"]), (1, 30))
        self.assertEqual(emily_activity["NameOf"], "Employee")
        self.assertEqual(emily_activity["CustomerRef"]["value"], self.customer_cool_cars.qbo_id)
        self.assertEqual(emily_activity["ItemRef"]["value"], self.item_hours.qbo_id)
        self.assertEqual(emily_activity["BillableStatus"], "Billable")
        self.assertEqual(float(emily_activity["HourlyRate"]), 95.0)  # her QBO bill rate
        self.assertTrue(emily_activity["Description"].startswith("Work 0"))
        nadia_activity = stored[lines[2].qbo_time_activity_id]
        self.assertEqual(nadia_activity["NameOf"], "Vendor")
        self.assertEqual((nadia_activity["Hours"], nadia_activity["Minutes"]), (0, 16))
        # a vendor without a bill rate: the service item's price
        self.assertEqual(nadia_activity["BillableStatus"], "Billable")
        self.assertEqual(float(nadia_activity["HourlyRate"]), 90.0)

    def test_completion_posts_summary_and_emails_the_user_who_started(self):
        lines = self.make_lines(1) | self.make_lines(1, employee=self.nobody)
        run = self.export(lines)
        self.assertEqual(run.state, "done_with_errors")
        summary = run.message_ids.filtered(
            lambda message: message.subtype_id == self.env.ref("noko_qbo.mt_qbo_export_done")
        )
        self.assertEqual(len(summary), 1)
        self.assertIn("Zed Unknown", summary.body)
        mail = self.env["mail.mail"].search([("model", "=", "qbo.export"), ("res_id", "=", run.id)])
        self.assertEqual(mail.recipient_ids, self.manager.partner_id)
        self.assertIn(run.name, mail.subject)

    def test_unmapped_employee_stays_approved_then_reexport_sends_only_it(self):
        good, bad = self.make_lines(1), self.make_lines(1, employee=self.nobody)
        first = self.export(good | bad)
        self.assertEqual(good.qbo_state, "exported")
        self.assertEqual(bad.qbo_state, "approved")
        self.assertTrue(bad.qbo_error)
        failed = first.result_ids.filtered(lambda result: result.line_id == bad)
        self.assertEqual(failed.state, "failed")
        # fix the mapping after the first run: the next export counts it
        map_employee(self.nobody, self.env["qbo.payee"].search([("name", "=", "John Johnson")]))
        second = self.export(good | bad)
        self.assertEqual(bad.qbo_state, "exported")
        self.assertFalse(bad.qbo_error)
        self.assertEqual(
            second.result_ids.filtered(lambda result: result.line_id == good).state, "skipped"
        )
        self.assertEqual((second.count_exported, second.count_skipped), (1, 1))
        self.assertEqual(self.sent_copies(good), 1)
        self.assertEqual(self.sent_copies(bad), 1)
        # the first run's history is untouched
        self.assertEqual(failed.state, "failed")

    def test_apply_then_drop_does_not_duplicate(self):
        lines = self.make_lines(3)
        self.sandbox.apply_then_drop(1, path="/batch")
        run = self.export(lines)
        self.assertEqual(run.state, "done")
        for line in lines:
            self.assertEqual(line.qbo_state, "exported")
            self.assertEqual(self.sent_copies(line), 1)

    def test_server_errors_retry_later_without_duplicates(self):
        lines = self.make_lines(3)
        run, trap = self.confirm(lines)
        chunk = run.result_ids
        self.sandbox.fail_next(20, mode="503", path="/batch")
        with self.assertRaises(RetryableJobError), self.env.cr.savepoint():
            run._qbo_export_chunk(chunk)
        self.env.invalidate_all()
        self.assertEqual(set(lines.mapped("qbo_state")), {"approved"})
        self.sandbox.injector.clear()
        run._qbo_export_chunk(chunk)
        run._qbo_finish()
        self.assertEqual(run.state, "done")
        for line in lines:
            self.assertEqual(self.sent_copies(line), 1)

    def test_lost_connection_fails_the_run_and_keeps_lines_approved(self):
        lines = self.make_lines(2)
        run, trap = self.confirm(lines)
        self.sandbox.revoke_tokens()
        self.run_jobs(trap)
        self.assertEqual(run.state, "failed")
        self.assertIn("reconnect", run.failure_message)
        self.assertEqual(set(lines.mapped("qbo_state")), {"approved"})
        self.assertFalse(any(lines.mapped("qbo_time_activity_id")))

    def test_overlapping_runs_never_send_a_line_twice(self):
        lines = self.make_lines(4)
        run_a, trap_a = self.confirm(lines[:3])
        run_b, trap_b = self.confirm(lines[1:])  # lines 1-2 handed over to B
        self.assertEqual(lines[1].qbo_export_id, run_b)
        self.run_jobs(trap_b)
        self.run_jobs(trap_a)
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})
        for line in lines:
            self.assertEqual(self.sent_copies(line), 1)
        handed = run_a.result_ids.filtered(lambda result: result.line_id in lines[1:3])
        self.assertEqual(set(handed.mapped("state")), {"skipped"})
        self.assertEqual(run_b.count_exported, 3)

    def test_job_of_a_run_skips_lines_exported_meanwhile(self):
        lines = self.make_lines(2)
        run_a, trap_a = self.confirm(lines)
        self.run_jobs(trap_a)
        # a stale chunk of run A runs again (requeued by hand): nothing is sent twice
        run_a.result_ids.write({"state": "pending"})
        run_a._qbo_export_chunk(run_a.result_ids)
        self.assertEqual(set(run_a.result_ids.mapped("state")), {"skipped"})
        for line in lines:
            self.assertEqual(self.sent_copies(line), 1)

    def test_timesheet_user_cannot_export(self):
        lines = self.make_lines(1, employee=self.emily)
        Preview = self.env["qbo.export.preview"].with_user(self.timesheet_user)
        with self.assertRaises(AccessError):
            Preview.with_context(
                active_model="account.analytic.line", active_ids=lines.ids
            ).action_open_from_timesheets()
        preview = self.preview(lines)
        with self.assertRaises(AccessError):
            preview.with_user(self.timesheet_user).action_confirm()

    def test_not_connected_cannot_confirm(self):
        lines = self.make_lines(1)
        preview = self.preview(lines)
        self.company.sudo()._qbo_token_record().unlink()
        self.env.invalidate_all()
        with self.assertRaises(UserError):
            preview.action_confirm()
        self.assertEqual(lines.qbo_state, "draft")

    def test_confirm_queries_do_not_grow_per_line(self):
        counts = {}
        for size in (50, 200):
            lines = self.make_lines(size)
            preview = self.preview(lines)
            self.env.flush_all()
            self.env.invalidate_all()
            with trap_jobs():
                start = self.cr.sql_log_count
                preview.action_confirm()
                self.env.flush_all()
                counts[size] = self.cr.sql_log_count - start
        self.assertLess(counts[200] - counts[50], 15, counts)
