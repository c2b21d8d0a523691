from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestLineLock(ExportCase):
    def test_approved_line_cannot_be_edited_by_a_manager(self):
        line = self.make_lines(1)
        self.confirm(line)
        Line = self.env["account.analytic.line"].with_user(self.manager)
        with self.assertRaisesRegex(UserError, "Emily Platt"):
            Line.browse(line.id).write({"unit_amount": 8})
        self.assertEqual(line.unit_amount, 1.5)

    def test_exported_line_cannot_be_edited_or_deleted_even_with_sudo(self):
        line = self.make_lines(1)
        self.export(line)
        self.assertEqual(line.qbo_state, "exported")
        for values in (
            {"name": "changed"},
            {"date": "2025-03-04"},
            {"project_id": self.project_unmapped.id},
        ):
            with self.assertRaises(UserError):
                line.sudo().write(values)
        with self.assertRaises(UserError):
            line.sudo().unlink()

    def test_state_cannot_be_forged_through_rpc(self):
        line = self.make_lines(1)
        self.export(line)
        with self.assertRaises(UserError):
            line.sudo().write({"qbo_state": "draft"})
        # a JSON context cannot carry the internal marker
        with self.assertRaises(UserError):
            line.sudo().with_context(noko_qbo_internal=True).write({"unit_amount": 3})
        with self.assertRaises(UserError):
            self.env["account.analytic.line"].sudo().create(
                {
                    "name": "x",
                    "project_id": self.project.id,
                    "employee_id": self.emily.id,
                    "unit_amount": 1,
                    "qbo_state": "exported",
                }
            )

    def test_locked_line_is_readonly_in_the_ui(self):
        line = self.make_lines(1)
        self.assertFalse(line.readonly_timesheet)
        self.confirm(line)
        line.invalidate_recordset(["readonly_timesheet"])
        self.assertTrue(line.readonly_timesheet)

    def test_draft_line_stays_editable(self):
        line = self.make_lines(1)
        line.with_user(self.manager).write({"unit_amount": 2})
        self.assertEqual(line.unit_amount, 2)

    def test_manager_unlocks_an_approved_line_with_a_trace_on_the_run(self):
        line = self.make_lines(1)
        run, _trap = self.confirm(line)
        line.with_user(self.manager).action_qbo_unlock()
        self.assertEqual(line.qbo_state, "draft")
        line.with_user(self.manager).write({"unit_amount": 2})
        self.assertTrue(any("unlocked" in (message.body or "") for message in run.message_ids))
        # the run's job then leaves it alone
        run._qbo_export_chunk(run.result_ids)
        self.assertEqual(run.result_ids.state, "skipped")
        self.assertEqual(self.sent_copies(line), 0)

    def test_unlock_keeps_lines_an_interrupted_export_already_sent(self):
        sent, waiting = self.make_lines(2)
        run, _trap = self.confirm(sent | waiting)
        # The job reached QBO for ``sent``, then died before its transaction committed.
        plans = sent._qbo_time_activity_plans(self.company)
        self.company.sudo()._qbo_client().send_time_activities(
            [sent._qbo_time_activity_payload(plans[sent.id])], [sent._qbo_request_key()]
        )
        self.assertEqual((sent.qbo_state, self.sent_copies(sent)), ("approved", 1))

        action = (sent | waiting).with_user(self.manager).action_qbo_unlock()

        self.assertEqual(sent.qbo_state, "exported")
        self.assertTrue(sent.qbo_time_activity_id)
        self.assertEqual(waiting.qbo_state, "draft")
        self.assertEqual(action["params"]["type"], "warning")
        result = run.result_ids.filtered(lambda result: result.line_id == sent)
        self.assertEqual((result.state, result.outcome), ("exported", "reconciled"))
        # Exporting again sends nothing new for it.
        self.export(sent | waiting)
        self.assertEqual((self.sent_copies(sent), self.sent_copies(waiting)), (1, 1))

    def test_unlock_is_refused_when_quickbooks_cannot_be_asked(self):
        line = self.make_lines(1)
        self.confirm(line)
        self.sandbox.revoke_tokens()
        with self.assertRaisesRegex(UserError, "interrupted export"):
            line.with_user(self.manager).action_qbo_unlock()
        self.assertEqual(line.qbo_state, "approved")

    def test_unlock_from_the_action_menu(self):
        line = self.make_lines(1)
        self.confirm(line)
        server_action = self.env.ref("noko_qbo.account_analytic_line_action_qbo_unlock")
        result = (
            server_action.with_user(self.manager)
            .with_context(
                active_model="account.analytic.line", active_ids=line.ids, active_id=line.id
            )
            .run()
        )
        self.assertEqual(result["tag"], "display_notification")
        self.assertEqual(line.qbo_state, "draft")

    def test_lines_without_duration_are_skipped_not_locked(self):
        empty = self.make_lines(1, hours=0)
        real = self.make_lines(1)
        run, _trap = self.confirm(empty | real)
        self.assertEqual((empty.qbo_state, real.qbo_state), ("draft", "approved"))
        result = run.result_ids.filtered(lambda result: result.line_id == empty)
        self.assertEqual(result.state, "skipped")

    def test_confirm_refuses_when_nothing_would_be_sent(self):
        line = self.make_lines(1)
        self.export(line)
        preview = self.preview(line)
        with self.assertRaisesRegex(UserError, "nothing to export"):
            preview.action_confirm()
        self.assertEqual(self.env["qbo.export"].search_count([]), 1)

    def test_preview_of_zero_duration_lines_only_cannot_be_confirmed(self):
        preview = self.preview(self.make_lines(2, hours=0))
        self.assertEqual((preview.count_skipped, preview.count_blocked), (2, 0))
        with self.assertRaisesRegex(UserError, "nothing to export"):
            preview.action_confirm()

    def test_exported_line_cannot_be_unlocked(self):
        line = self.make_lines(1)
        self.export(line)
        with self.assertRaises(UserError):
            line.with_user(self.manager).action_qbo_unlock()
        self.assertEqual(line.qbo_state, "exported")

    def test_timesheet_user_cannot_unlock(self):
        line = self.make_lines(1)
        self.confirm(line)
        with self.assertRaises(AccessError):
            line.with_user(self.timesheet_user).sudo().action_qbo_unlock()
        self.assertEqual(line.qbo_state, "approved")
