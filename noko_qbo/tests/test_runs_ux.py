from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.qbo_user_message import count_lines, refusal_cause, refusal_message
from ..qbo.errors import QboFault
from .common import map_employee
from .test_export_flow import ExportCase


class RunCase(ExportCase):
    """Runs started the way exports without a preview start them: planned, then ``_qbo_start``."""

    def start(self, lines, user=None, run_jobs=True):
        user = user or self.manager
        lines = lines.with_user(user)
        with trap_jobs() as trap:
            run = (
                self.env["qbo.export"]
                .with_user(user)
                ._qbo_start(lines, self.company, plans=lines._qbo_time_activity_plans(self.company))
            )
            if run_jobs:
                self.run_jobs(trap)
        return run.sudo()

    def activities(self):
        return len(self.sandbox.entities("TimeActivity"))

    def export_again(self, run, user=None):
        with trap_jobs() as trap:
            action = run.with_user(user or self.manager).action_qbo_export_waiting_again()
            self.run_jobs(trap)
        return self.env["qbo.export"].browse(action["res_id"])


@tagged("post_install", "-at_install")
class TestRunResults(RunCase):
    def test_results_list_problems_first(self):
        lines = (
            self.make_lines(1, hours=0)  # skipped: no duration
            | self.make_lines(2)
            | self.make_lines(1, employee=self.nobody)  # blocked: not mapped
        )
        run = self.start(lines)
        results = self.env["qbo.export.result"].search([("export_id", "=", run.id)])
        self.assertEqual(results.mapped("state"), ["failed", "exported", "exported", "skipped"])
        self.assertEqual(results[0].line_id, lines[3])

    def test_results_grouped_by_cause_with_lines_and_hours(self):
        blocked = self.make_lines(3, employee=self.nobody, hours=1.5)
        run = self.start(blocked | self.make_lines(1, hours=0) | self.make_lines(1))
        causes = run._qbo_causes()
        self.assertEqual([row["state"] for row in causes], ["failed", "skipped"])
        failed = causes[0]
        self.assertEqual((failed["count"], failed["lines"], failed["hours"]), (3, "3 lines", 4.5))
        self.assertIn("Zed Unknown", failed["cause"])
        not_exported = run.result_ids.filtered(lambda result: result.state != "exported")
        self.assertTrue(all(not_exported.mapped("cause")))
        html = str(run.causes_html)
        self.assertEqual(html.count(failed["cause"]), 1)
        self.assertIn("1 line", html)
        self.assertIn("4:30", html)

    def test_exported_lines_skipped_again_share_one_cause(self):
        lines = self.make_lines(2)
        self.start(lines)
        again = self.start(lines)
        skipped = again.result_ids
        self.assertEqual(set(skipped.mapped("state")), {"skipped"})
        self.assertEqual(len(set(skipped.mapped("message"))), 2)  # each names its TimeActivity
        self.assertEqual(len(set(skipped.mapped("cause"))), 1)
        self.assertEqual(again._qbo_causes()[0]["lines"], "2 lines")

    def test_one_wording_for_counts(self):
        self.assertEqual(count_lines(self.env, 1), "1 line")
        self.assertEqual(count_lines(self.env, 2), "2 lines")
        self.assertEqual(count_lines(self.env, 0), "0 lines")
        run = self.start(self.make_lines(1))
        self.assertEqual(
            run._qbo_summary_text(), "Out of 1 line: 1 exported, 0 skipped, 0 needing attention."
        )
        self.assertEqual(run._qbo_totals(), [("Exported", "1 line")])

    def test_email_is_short_and_not_the_chatter_note(self):
        run = self.start(self.make_lines(2, employee=self.nobody) | self.make_lines(1))
        note = run.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("noko_qbo.mt_qbo_export_done")
        )
        self.assertEqual(len(note), 1)
        mail = (
            self.env["mail.mail"]
            .sudo()
            .search([("model", "=", "qbo.export"), ("res_id", "=", run.id)])
        )
        self.assertEqual(len(mail), 1)
        cause = run._qbo_causes()[0]["cause"]
        self.assertIn(cause, str(note.body))
        self.assertNotIn(cause, str(mail.body_html))  # the detail stays in the chatter
        self.assertNotIn(run._qbo_summary_text(), str(mail.body_html))
        self.assertIn(f"/mail/view?model=qbo.export&amp;res_id={run.id}", str(mail.body_html))
        self.assertIn("Need attention: 2 lines", str(mail.body_html))
        self.assertIn("Exported: 1 line", str(mail.body_html))

    def test_refusals_group_by_qbo_message_not_by_line(self):
        result = self.start(self.make_lines(1), run_jobs=False).result_ids
        fault = QboFault(
            "validation", "2000", "Invalid Reference Id", "Employee 7 of line 12 is inactive"
        )
        result._qbo_set_failed(refusal_message(self.env, fault), refusal_cause(self.env, fault))
        self.assertIn("line 12", result.message)
        self.assertEqual(result.cause, "QuickBooks refused it: Invalid Reference Id [2000]")


@tagged("post_install", "-at_install")
class TestExportWaitingAgain(RunCase):
    def test_fixed_lines_go_blocked_stay_nothing_sent_twice(self):
        good = self.make_lines(1)
        fixable = self.make_lines(2, employee=self.nobody)
        stuck = self.make_lines(1, project=self.project_unmapped)
        run = self.start(good | fixable | stuck)
        self.assertEqual(run.count_failed, 3)
        before = self.activities()
        map_employee(self.nobody, self.env["qbo.payee"].search([("name", "=", "John Johnson")]))
        again = self.export_again(run)
        self.assertEqual(again.origin_id, run)
        self.assertEqual(again.user_id, self.manager)
        self.assertEqual(again.result_ids.line_id, fixable)
        self.assertEqual(set(fixable.mapped("qbo_state")), {"exported"})
        self.assertEqual(self.activities(), before + 2)
        self.assertEqual([self.sent_copies(line) for line in good | fixable], [1, 1, 1])
        # the blocked line stays in its run, approved and waiting, with its reason
        self.assertEqual((stuck.qbo_state, stuck.qbo_export_id), ("approved", run))
        self.assertTrue(stuck.qbo_error)
        stuck_result = run.result_ids.filtered(lambda r: r.line_id == stuck)
        self.assertEqual(stuck_result.state, "failed")
        self.assertTrue(
            run.message_ids.filtered(
                lambda m: again.name in str(m.body) and "2 lines" in str(m.body)
            )
        )
        # again: only the stuck line waits, and it cannot go yet; the new run waits for nothing
        with self.assertRaisesRegex(UserError, "None of the 1 line waiting"):
            run.with_user(self.manager).action_qbo_export_waiting_again()
        with self.assertRaisesRegex(UserError, "no line waiting"):
            again.with_user(self.manager).action_qbo_export_waiting_again()
        self.assertEqual(self.activities(), before + 2)

    def test_a_run_still_sending_is_not_exported_again(self):
        run = self.start(self.make_lines(1), run_jobs=False)
        self.assertEqual(run.state, "queued")
        with self.assertRaisesRegex(UserError, "still sending"):
            run.with_user(self.manager).action_qbo_export_waiting_again()

    def test_lines_exported_or_unlocked_since_are_not_waiting(self):
        lines = self.make_lines(2, employee=self.nobody)
        run = self.start(lines)
        lines[0].with_user(self.manager).action_qbo_unlock()
        map_employee(self.nobody, self.env["qbo.payee"].search([("name", "=", "John Johnson")]))
        later = self.start(lines[1])  # handed over to a later run and exported there
        self.assertEqual(lines[1].qbo_export_id, later)
        with self.assertRaisesRegex(UserError, "no line waiting"):
            run.with_user(self.manager).action_qbo_export_waiting_again()

    def test_only_quickbooks_managers(self):
        run = self.start(self.make_lines(1, employee=self.nobody))
        with self.assertRaises(AccessError):
            run.with_user(self.timesheet_user).action_qbo_export_waiting_again()
