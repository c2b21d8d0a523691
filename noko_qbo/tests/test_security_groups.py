from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestQboManagerGroup(TransactionCase):
    """Noko: only the account owner or a supervisor can set up integrations."""

    def test_settings_admin_is_qbo_manager(self):
        admin = new_test_user(self.env, login="qbo_sysadmin", groups="base.group_system")
        self.assertTrue(admin.has_group("noko_qbo.group_qbo_manager"))

    def test_timesheet_administrator_is_qbo_manager(self):
        manager = new_test_user(
            self.env, login="qbo_ts_admin", groups="hr_timesheet.group_timesheet_manager"
        )
        self.assertTrue(manager.has_group("noko_qbo.group_qbo_manager"))

    def test_timesheet_user_is_not_qbo_manager(self):
        user = new_test_user(
            self.env, login="qbo_ts_user", groups="hr_timesheet.group_hr_timesheet_user"
        )
        self.assertFalse(user.has_group("noko_qbo.group_qbo_manager"))
