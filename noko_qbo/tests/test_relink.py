"""After an uninstall and reinstall (or a restore), Re-link from QuickBooks binds lines back."""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .test_export_flow import DAY, ExportCase


@tagged("post_install", "-at_install")
class TestRelink(ExportCase):
    def forget_exports(self):
        """What an uninstall and reinstall leaves: every line draft, no run, no binding."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE account_analytic_line SET qbo_state = 'draft', qbo_time_activity_id = NULL,"
            " qbo_realm_id = NULL, qbo_export_id = NULL, qbo_error = NULL"
        )
        self.env.cr.execute("DELETE FROM qbo_export")
        self.env.invalidate_all()

    def relink(self, user=None):
        wizard = (
            self.env["qbo.relink"]
            .with_user(user or self.manager)
            .create({"date_from": DAY, "date_to": DAY})
        )
        wizard.action_relink()
        return wizard

    def test_lines_come_back_bound_and_locked_and_are_not_sent_again(self):
        lines = self.make_lines(3)
        self.export(lines)
        bound = dict(zip(lines.ids, lines.mapped("qbo_time_activity_id"), strict=True))
        created = len(self.sandbox.entities("TimeActivity"))
        self.forget_exports()
        edited = lines[0]
        edited.write({"unit_amount": 4})  # a draft line again: edited after the reinstall
        wizard = self.relink()
        self.assertEqual((wizard.count_bound, wizard.count_changed), (2, 1))
        self.assertEqual(set(lines.mapped("qbo_state")), {"exported"})
        self.assertEqual(lines.mapped("qbo_time_activity_id"), [bound[line.id] for line in lines])
        self.assertTrue(edited.qbo_changed_since_export)
        self.assertEqual((lines - edited).mapped("qbo_changed_since_export"), [False, False])
        self.assertTrue(edited._is_readonly())
        self.assertEqual(len(self.sandbox.entities("TimeActivity")), created, "nothing created")
        # exporting the month again skips them all
        preview = self.preview(lines)
        self.assertEqual(preview.count_skipped, 3)

    def test_relinking_twice_changes_nothing(self):
        lines = self.make_lines(2)
        self.export(lines)
        self.forget_exports()
        self.relink()
        again = self.relink()
        self.assertEqual((again.count_bound, again.count_already), (0, 2))

    def test_only_quickbooks_managers_relink(self):
        with self.assertRaises(AccessError):
            self.relink(self.timesheet_user)

    def test_the_uninstall_dialog_warns_and_says_how_to_restore(self):
        noko = self.env["ir.module.module"].search([("name", "=", "noko_qbo")])
        wizard = self.env["base.module.uninstall"].create({"module_ids": noko.ids})
        self.assertTrue(wizard.qbo_uninstall_warning)
        other = self.env["ir.module.module"].search([("name", "=", "base_import")])
        wizard = self.env["base.module.uninstall"].create({"module_ids": other.ids})
        self.assertFalse(wizard.qbo_uninstall_warning)
        arch = self.env["base.module.uninstall"].get_views([(False, "form")])["views"]["form"][
            "arch"
        ]
        self.assertIn("Re-link from QuickBooks", arch)
