from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import map_employee
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestExportSchedule(ExportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.filter = cls.env["ir.filters"].create(
            {
                "name": "Scheduled timesheets",
                "model_id": "account.analytic.line",
                "domain": "[('name', 'like', 'Sched')]",
            }
        )
        # a QuickBooks manager who reads only their own timesheets
        cls.own_manager = new_test_user(
            cls.env,
            login="qbo_sched_own_manager",
            groups="noko_qbo.group_qbo_manager,hr_timesheet.group_hr_timesheet_user",
        )
        cls.own_employee = cls.env["hr.employee"].create(
            {"name": "Own Manager", "user_id": cls.own_manager.id}
        )
        map_employee(cls.own_employee, cls.env["qbo.payee"].search([("name", "=", "John Johnson")]))

    def setUp(self):
        super().setUp()
        self.today = fields.Date.context_today(self.env["qbo.export.schedule"])
        self.progress = []

        def commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
            self.progress.append((processed, remaining))  # a commit per schedule in a real cron
            return float("inf")

        self.patch(type(self.env["ir.cron"]), "_commit_progress", commit_progress)

    def schedule(self, user=None, **values):
        return self.env["qbo.export.schedule"].create(
            {
                "name": "Weekly",
                "filter_id": self.filter.id,
                "user_id": (user or self.manager).id,
                **values,
            }
        )

    def run_cron(self):
        with trap_jobs() as trap:
            self.env["qbo.export.schedule"]._qbo_cron_run_due()
            self.run_jobs(trap)
        self.env.invalidate_all()

    def runs(self):
        return self.env["qbo.export"].sudo().search([])

    def test_off_by_default(self):
        Schedule = self.env["qbo.export.schedule"].with_context(active_test=False)
        self.assertFalse(Schedule.search([]))
        lines = self.make_lines(2, name="Sched work")
        before = self.runs()
        self.run_cron()
        self.assertEqual(self.runs(), before)
        self.assertEqual(set(lines.mapped("qbo_state")), {"draft"})

    def test_due_schedule_exports_the_filter_others_wait(self):
        due = self.schedule()
        later = self.schedule(next_run=self.today + timedelta(days=1))
        archived = self.schedule(active=False)
        matching = self.make_lines(2, name="Sched work")
        other = self.make_lines(1, name="Other work")
        before = self.runs()
        self.run_cron()
        run = self.runs() - before
        self.assertEqual(len(run), 1)
        self.assertEqual((run.schedule_id, run.user_id), (due, self.manager))
        self.assertEqual(run.result_ids.line_id, matching)
        self.assertEqual(set(matching.mapped("qbo_state")), {"exported"})
        self.assertEqual(other.qbo_state, "draft")
        self.assertEqual(due.next_run, self.today + timedelta(days=7))
        self.assertEqual(due.last_export_id, run)
        self.assertEqual(
            due.last_message, f"{run.name} started with 2 lines (0 needing attention)."
        )
        self.assertFalse(later.last_run or archived.last_run)
        self.assertEqual(self.progress, [(0, 1), (1, None)])
        # the next day: nothing due, nothing sent again
        self.run_cron()
        self.assertEqual(self.runs() - before, run)

    def test_runs_as_the_chosen_user_with_their_rights(self):
        schedule = self.schedule(user=self.own_manager)
        own = self.make_lines(1, name="Sched own", employee=self.own_employee)
        others = self.make_lines(1, name="Sched someone else's")
        self.run_cron()
        run = schedule.last_export_id
        self.assertEqual(run.user_id, self.own_manager)
        self.assertEqual(run.result_ids.line_id, own)
        self.assertEqual(own.qbo_state, "exported")
        self.assertEqual(others.qbo_state, "draft")

    def test_blocked_lines_stay_waiting_reported_in_run_and_email(self):
        schedule = self.schedule(interval="monthly")
        blocked = self.make_lines(1, name="Sched unmapped", employee=self.nobody)
        self.make_lines(1, name="Sched fine")
        self.run_cron()
        run = schedule.last_export_id
        self.assertEqual((blocked.qbo_state, blocked.qbo_export_id), ("approved", run))
        self.assertIn("Zed Unknown", run._qbo_causes()[0]["cause"])
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", "qbo.export"), ("res_id", "=", run.id)])
        )
        self.assertIn("Need attention: 1 line", str(mail.body_html))
        self.assertEqual(schedule.next_run, self.today + relativedelta(months=1))

    def test_a_failing_schedule_is_recorded_and_the_others_run(self):
        broken = self.schedule()
        broken.filter_id = self.filter.copy({"domain": "[('no_such_field', '=', 1)]"})
        fine = self.schedule()
        self.make_lines(1, name="Sched work")
        self.run_cron()
        self.assertFalse(broken.last_export_id)
        self.assertTrue(broken.last_message)
        self.assertEqual(broken.next_run, self.today + timedelta(days=7))
        self.assertEqual(fine.last_export_id.count_exported, 1)

    def test_export_as_a_quickbooks_manager_of_the_company_only(self):
        with self.assertRaisesRegex(ValidationError, "is not a QuickBooks manager of"):
            self.schedule(user=self.timesheet_user)
        other = self.env["res.company"].create({"name": "Schedule Other Co"})
        with self.assertRaisesRegex(ValidationError, "is not a QuickBooks manager of"):
            self.schedule(company_id=other.id)

    def test_a_manager_schedules_as_themselves_only(self):
        Schedule = self.env["qbo.export.schedule"].with_user(self.manager)
        values = {"name": "Mine", "filter_id": self.filter.id}
        self.assertEqual(Schedule.create(values).user_id, self.manager)
        with self.assertRaisesRegex(AccessError, "Only administrators"):
            Schedule.create({**values, "user_id": self.own_manager.id})
        with self.assertRaises(AccessError):
            Schedule.with_user(self.timesheet_user).create(values)

    def test_filter_of_timesheets_only(self):
        partners = self.env["ir.filters"].create(
            {"name": "Partners", "model_id": "res.partner", "domain": "[]"}
        )
        with self.assertRaisesRegex(ValidationError, "not a filter of timesheets"):
            self.schedule(filter_id=partners.id)

    def test_relative_filter_domains_stay_relative(self):
        self.filter.domain = (
            "[('date', '>=', (context_today() - relativedelta(days=3)).strftime('%Y-%m-%d'))]"
        )
        schedule = self.schedule()
        self.assertEqual(
            schedule._qbo_domain(),
            [("date", ">=", (self.today - timedelta(days=3)).strftime("%Y-%m-%d"))],
        )
