import re
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..qbo.client import QboClient
from .common import SandboxLimits, map_project
from .test_export_flow import ExportCase


class SyncCase(ExportCase):
    """ExportCase plus the sync's cron, run without its commits.

    The sandbox's limits are out of reach: these tests count reads, a 429 would
    add its retry.
    """

    sandbox_options = {
        "limits": SandboxLimits(
            requests_per_minute=10**6,
            requests_per_second=10**6,
            batch_per_minute=10**6,
            realm_batch_per_minute=10**6,
            concurrent=100,
        )
    }

    def setUp(self):
        super().setUp()
        self.progress = []

        def commit_progress(cron, processed=0, *, remaining=None, deactivate=False):
            self.progress.append((processed, remaining))  # committed per company in a real cron
            return float("inf")

        self.patch(type(self.env["ir.cron"]), "_commit_progress", commit_progress)

    def run_cron(self):
        self.env["res.company"]._qbo_cron_sync_time_activities()
        self.env.invalidate_all()

    def exported(self, count=1, **values):
        lines = self.make_lines(count, **values)
        run = self.export(lines)
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})
        return lines, run

    def notes(self, run, about):
        """The run's notes whose body says ``about``."""
        return run.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_note") and about in (m.body or "")
        )

    def in_sandbox(self, line):
        return any(
            activity["Id"] == line.qbo_time_activity_id
            for activity in self.sandbox.entities("TimeActivity")
        )


@tagged("post_install", "-at_install")
class TestBillingStatus(SyncCase):
    def test_export_records_the_billing_status_qbo_answered(self):
        internal = self.env["project.project"].create(
            {"name": "Team Meetings", "allow_timesheets": True}
        )
        map_project(internal, without_customer=True)
        billable, _run = self.exported(1)
        not_billable, _run = self.exported(1, project=internal)
        draft = self.make_lines(1)
        self.assertEqual(billable.qbo_billing_status, "unbilled")
        self.assertEqual(not_billable.qbo_billing_status, "not_billable")
        self.assertFalse(draft.qbo_billing_status)

    def test_nobody_writes_the_billing_status_by_hand(self):
        line, _run = self.exported(1)
        with self.assertRaises(UserError):
            line.with_user(self.manager).write({"qbo_billing_status": "billed"})
        with self.assertRaises(UserError):
            self.make_lines(1, qbo_billing_status="billed")

    def test_cron_follows_billing_and_deletion_in_quickbooks(self):
        lines, run = self.exported(3)
        billed, deleted, untouched = lines
        self.sandbox.bill_time_activities([billed.qbo_time_activity_id])
        self.sandbox.delete_time_activities([deleted.qbo_time_activity_id])
        self.run_cron()
        self.assertEqual((billed.qbo_state, billed.qbo_billing_status), ("exported", "billed"))
        self.assertEqual(
            (untouched.qbo_state, untouched.qbo_billing_status), ("exported", "unbilled")
        )
        self.assertEqual(deleted.qbo_state, "deleted")
        self.assertTrue(deleted.qbo_deleted_at)
        self.assertIn(deleted.qbo_time_activity_id, deleted.qbo_error)
        self.assertIn("deleted in QuickBooks", deleted.qbo_error)
        [note] = self.notes(run, "no longer has")
        self.assertIn(deleted.qbo_time_activity_id, note.body)
        self.assertIn(deleted._qbo_label(), note.body)
        self.assertTrue(self.company.qbo_time_synced_at)
        self.assertEqual(self.progress, [(0, 1), (1, None)])

    def test_a_second_sync_records_nothing_new(self):
        lines, run = self.exported(2)
        self.sandbox.delete_time_activities([lines[0].qbo_time_activity_id])
        self.sandbox.bill_time_activities([lines[1].qbo_time_activity_id])
        self.run_cron()
        before = (lines.mapped("qbo_state"), lines.mapped("qbo_deleted_at"), len(run.message_ids))
        self.run_cron()
        after = (lines.mapped("qbo_state"), lines.mapped("qbo_deleted_at"), len(run.message_ids))
        self.assertEqual(before, after)

    def test_full_sync_reads_do_not_grow_per_line(self):
        lines, _run = self.exported(210)
        self.run_cron()
        # no mark yet: 210 lines looked up 100 Ids a statement, no GET per line
        self.assertEqual(self.sync_reads(), 3)
        self.sandbox.advance_clock(120)
        self.sandbox.bill_time_activities([lines[0].qbo_time_activity_id])
        for _run in range(2):  # from the first mark, then from the bill's
            self.run_cron()
            self.assertEqual(lines[0].qbo_billing_status, "billed")
            self.assertLessEqual(self.sync_reads(), 4)  # one page of changes + 3 lookups

    def sync_reads(self):
        return int(re.search(r"\((\d+) reads\)", self.company.qbo_time_sync_message)[1])

    def test_settings_button_syncs_for_administrators_only(self):
        line, _run = self.exported(1)
        self.sandbox.bill_time_activities([line.qbo_time_activity_id])
        settings = self.env["res.config.settings"].create({})
        with self.assertRaises(AccessError):
            settings.with_user(self.manager).action_qbo_sync_time_activities()
        self.assertEqual(line.qbo_billing_status, "unbilled")
        answer = settings.action_qbo_sync_time_activities()
        self.assertEqual(answer["params"]["type"], "success")
        self.env.invalidate_all()
        self.assertEqual(line.qbo_billing_status, "billed")

    def test_verifier_token_is_write_only_and_for_administrators(self):
        settings = self.env["res.config.settings"].create(
            {"qbo_new_webhook_verifier_token": "the-verifier"}
        )
        settings.execute()
        self.assertEqual(self.company.sudo().qbo_webhook_verifier_token, "the-verifier")
        self.assertFalse(settings.qbo_new_webhook_verifier_token)
        self.assertTrue(self.env["res.config.settings"].create({}).qbo_has_webhook_verifier_token)
        with self.assertRaises(AccessError):
            self.company.with_user(self.manager).read(["qbo_webhook_verifier_token"])

    def test_duplicate_name_6240_is_a_refusal_of_that_line_only(self):
        from qbo_sandbox import faults as sandbox_faults  # noqa: PLC0415 - test-only
        from qbo_sandbox import time_activity as sandbox_time_activity  # noqa: PLC0415

        validated = sandbox_time_activity._validated

        def refusing(realm, payload, existing=None):
            if str(payload.get("Description", "")).startswith("Clash"):
                raise sandbox_faults.duplicate_name("Emily Platt")
            return validated(realm, payload, existing)

        good = self.make_lines(1)
        clash = self.make_lines(1, name="Clash with a name")
        with patch.object(sandbox_time_activity, "_validated", refusing):
            run = self.export(good | clash)
        self.assertEqual(run.state, "done_with_errors")
        self.assertEqual(good.qbo_state, "exported")
        self.assertEqual(clash.qbo_state, "approved")
        self.assertIn("[6240]", clash.qbo_error)
        self.assertIn("QuickBooks refused it", clash.qbo_error)
        result = run.result_ids.filtered(lambda r: r.line_id == clash)
        self.assertEqual(result.state, "failed")


@tagged("post_install", "-at_install")
class TestDeletedInQuickBooks(SyncCase):
    def deleted_line(self):
        line, run = self.exported(1)
        self.sandbox.delete_time_activities([line.qbo_time_activity_id])
        self.run_cron()
        self.assertEqual(line.qbo_state, "deleted")
        return line, run

    def test_a_deleted_line_stays_locked_and_is_never_sent_again_automatically(self):
        line, _run = self.deleted_line()
        with self.assertRaises(UserError):
            line.with_user(self.manager).write({"unit_amount": 3})
        fresh = self.make_lines(1)
        again = self.export(line | fresh)
        result = again.result_ids.filtered(lambda r: r.line_id == line)
        self.assertEqual(result.state, "skipped")
        self.assertIn("deleted in QuickBooks", result.message)
        self.assertEqual((line.qbo_state, fresh.qbo_state), ("deleted", "exported"))
        self.assertEqual(self.sent_copies(line), 0)

    def test_export_again_sends_it_once_deliberately(self):
        line, run = self.deleted_line()
        old_id = line.qbo_time_activity_id
        action = line.with_user(self.manager).action_qbo_export_again()
        self.assertEqual(action["res_model"], "qbo.export.preview")
        self.assertEqual(line.qbo_state, "draft")
        self.assertEqual(len(self.notes(run, "released")), 1)
        preview = self.env["qbo.export.preview"].browse(action["res_id"])
        self.assertEqual(preview.timesheet_ids, line)
        with self.env.cr.savepoint():
            self.export(line)
        self.assertEqual(line.qbo_state, "exported")
        self.assertNotEqual(line.qbo_time_activity_id, old_id)
        self.assertEqual(self.sent_copies(line), 1)

    def test_unlock_releases_it_to_draft(self):
        line, _run = self.deleted_line()
        line.with_user(self.manager).action_qbo_unlock()
        self.assertEqual(line.qbo_state, "draft")
        self.assertFalse(line.qbo_time_activity_id or line.qbo_deleted_at or line.qbo_error)
        line.with_user(self.manager).write({"unit_amount": 3})  # free to edit again

    def test_a_line_qbo_still_has_is_bound_again_instead_of_released(self):
        line, _run = self.exported(1)
        activity_id = line.qbo_time_activity_id
        line._qbo_mark_deleted({})  # a mistaken notice: QBO still has it
        line.with_user(self.manager).action_qbo_unlock()
        self.assertEqual((line.qbo_state, line.qbo_time_activity_id), ("exported", activity_id))

    def test_billed_time_deleted_in_quickbooks_cannot_be_unlocked(self):
        line, _run = self.exported(1)
        self.sandbox.bill_time_activities([line.qbo_time_activity_id])
        self.run_cron()
        self.sandbox.delete_time_activities([line.qbo_time_activity_id])
        self.run_cron()
        self.assertEqual((line.qbo_state, line.qbo_billing_status), ("deleted", "billed"))
        with self.assertRaisesRegex(UserError, "billed"):
            line.with_user(self.manager).action_qbo_unlock()
        with self.assertRaisesRegex(UserError, "billed"):
            line.with_user(self.manager).action_qbo_export_again()


@tagged("post_install", "-at_install")
class TestRemoveFromQuickBooks(SyncCase):
    def test_remove_an_unbilled_line_then_export_it_again_exactly_once(self):
        line, run = self.exported(1)
        activity_id = line.qbo_time_activity_id
        answer = line.with_user(self.manager).action_qbo_remove()
        self.assertEqual(answer["params"]["type"], "success")
        self.assertNotIn(activity_id, [a["Id"] for a in self.sandbox.entities("TimeActivity")])
        self.assertEqual(line.qbo_state, "draft")
        self.assertFalse(line.qbo_time_activity_id or line.qbo_realm_id or line.qbo_billing_status)
        [note] = self.notes(run, "removed")
        self.assertIn(activity_id, note.body)
        self.assertIn(self.manager.name, note.body)
        self.export(line)
        self.assertEqual(line.qbo_state, "exported")
        self.assertEqual(self.sent_copies(line), 1)

    def test_remove_from_the_runs_results(self):
        line, run = self.exported(1)
        result = run.result_ids.with_user(self.manager)
        self.assertEqual(result.qbo_billing_status, "unbilled")
        result.action_qbo_remove()
        self.assertEqual(line.qbo_state, "draft")
        self.assertEqual(self.sent_copies(line), 0)

    def test_billed_time_is_refused_naming_the_line(self):
        line, _run = self.exported(1)
        self.sandbox.bill_time_activities([line.qbo_time_activity_id])
        self.run_cron()
        with self.assertRaises(UserError) as refused:
            line.with_user(self.manager).action_qbo_remove()
        self.assertIn(line._qbo_label(), str(refused.exception))
        self.assertIn("billed", str(refused.exception))
        self.assertTrue(self.in_sandbox(line))
        self.assertEqual(line.qbo_state, "exported")

    def test_time_billed_in_quickbooks_since_the_last_sync_is_refused(self):
        lines, _run = self.exported(2)
        self.sandbox.bill_time_activities([lines[1].qbo_time_activity_id])  # no sync since
        with self.assertRaisesRegex(UserError, "billed in QuickBooks Online since the last sync"):
            lines.with_user(self.manager).action_qbo_remove()
        self.assertTrue(all(self.in_sandbox(line) for line in lines))  # neither was deleted
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})

    def patch_after_read(self, change):
        """Let QBO change the activities between the removal's read and its delete."""
        read = QboClient.time_activities_by_ids

        def time_activities_by_ids(client, ids, **kwargs):
            rows = read(client, ids, **kwargs)
            change([row["Id"] for row in rows])
            return rows

        self.patch(QboClient, "time_activities_by_ids", time_activities_by_ids)

    def test_an_edit_in_quickbooks_meanwhile_makes_a_stale_sync_token_then_a_retry(self):
        line, _run = self.exported(1)

        def edit(ids):
            for activity_id in ids:
                stored = next(
                    a for a in self.sandbox.entities("TimeActivity") if a["Id"] == activity_id
                )
                self.qbo_touch(
                    "TimeActivity", activity_id, SyncToken=str(int(stored["SyncToken"]) + 1)
                )

        self.patch_after_read(edit)
        line.with_user(self.manager).action_qbo_remove()
        self.assertEqual(line.qbo_state, "draft")
        self.assertEqual(self.sent_copies(line), 0)

    def test_time_billed_a_moment_ago_is_not_deleted(self):
        line, _run = self.exported(1)
        self.patch_after_read(self.sandbox.bill_time_activities)
        with self.assertRaisesRegex(UserError, "billed in QuickBooks Online a moment ago"):
            line.with_user(self.manager).action_qbo_remove()
        self.assertTrue(self.in_sandbox(line))
        self.assertEqual(line.qbo_state, "exported")

    def test_lost_connection_is_refused_naming_the_line(self):
        line, _run = self.exported(1)
        self.sandbox.revoke_tokens()
        with self.assertRaises(UserError) as refused:
            line.with_user(self.manager).action_qbo_remove()
        self.assertIn(line._qbo_label(), str(refused.exception))
        self.assertIn("connect again", str(refused.exception))
        self.assertEqual(line.qbo_state, "exported")
        self.assertTrue(self.in_sandbox(line))

    def test_a_failure_half_way_keeps_what_was_removed_and_names_the_line(self):
        lines, _run = self.exported(2)
        delete = QboClient.delete_time_activity
        calls = []

        def delete_then_fail(client, activity_id, sync_token, **kwargs):
            calls.append(activity_id)
            if len(calls) > 1:
                self.sandbox.revoke_tokens()
            return delete(client, activity_id, sync_token, **kwargs)

        self.patch(QboClient, "delete_time_activity", delete_then_fail)
        answer = lines.with_user(self.manager).action_qbo_remove()
        self.assertEqual(answer["params"]["type"], "warning")
        self.assertIn(lines[1]._qbo_label(), answer["params"]["message"])
        self.assertEqual(lines.mapped("qbo_state"), ["draft", "exported"])
        self.assertTrue(self.in_sandbox(lines[1]))

    def test_a_crash_between_the_delete_and_the_commit_leaves_it_locked_then_a_retry_releases_it(
        self,
    ):
        line, _run = self.exported(1)
        activity_id = line.qbo_time_activity_id
        release = type(line)._qbo_release

        def crash(lines, template):
            raise RuntimeError("the worker died before committing")

        with (
            patch.object(type(line), "_qbo_release", crash),
            self.assertRaises(RuntimeError),
            self.env.cr.savepoint(),
        ):
            line.with_user(self.manager).action_qbo_remove()
        self.env.invalidate_all()
        # QBO deleted it, Odoo rolled back: still exported (locked), never draft with it in QBO
        self.assertEqual(line.qbo_state, "exported")
        self.assertNotIn(activity_id, [a["Id"] for a in self.sandbox.entities("TimeActivity")])
        self.assertIs(type(line)._qbo_release, release)
        line.with_user(self.manager).action_qbo_remove()  # finds it gone: released
        self.assertEqual(line.qbo_state, "draft")

    def test_a_line_not_in_quickbooks_is_refused(self):
        draft = self.make_lines(1)
        with self.assertRaisesRegex(UserError, "not in QuickBooks Online"):
            draft.with_user(self.manager).action_qbo_remove()

    def test_timesheet_user_cannot_remove(self):
        self.emily.user_id = self.timesheet_user  # her own line: she may edit it, not remove it
        line, _run = self.exported(1)
        with self.assertRaises(AccessError):
            line.with_user(self.timesheet_user).action_qbo_remove()
        self.assertTrue(self.in_sandbox(line))

    def test_a_line_of_another_company_is_refused(self):
        line, _run = self.exported(1)
        other = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        both = new_test_user(
            self.env,
            login="qbo_two_companies",
            groups="noko_qbo.group_qbo_manager,hr_timesheet.group_hr_timesheet_approver",
            company_id=other.id,
            company_ids=[(6, 0, (other | self.company).ids)],
        )
        # signed in to the other company only: the line is not one of theirs to act on
        as_other = line.with_user(both).with_context(allowed_company_ids=other.ids)
        with self.assertRaises(AccessError):
            as_other.action_qbo_remove()
        self.assertEqual(line.qbo_state, "exported")
        self.assertTrue(self.in_sandbox(line))
