from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestMappingAccess(TransactionCase):
    """QuickBooks managers map projects and employees they may not otherwise edit."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.company
        cls.customer = cls.env["qbo.customer"].create(
            {"company_id": company.id, "qbo_id": "901", "name": "Mapped Customer"}
        )
        cls.payee = cls.env["qbo.payee"].create(
            {
                "company_id": company.id,
                "qbo_id": "902",
                "name": "Mapped Payee",
                "payee_type": "vendor",
            }
        )
        cls.project = cls.env["project.project"].create({"name": "Nobody Knows This Project"})
        cls.mapped_project = cls.env["project.project"].create(
            {"name": "Mapped Project", "qbo_customer_id": cls.customer.id}
        )
        cls.employee = cls.env["hr.employee"].create({"name": "Unmatched Person"})
        # A timesheet administrator: QuickBooks manager, but no project administrator.
        cls.ts_admin = new_test_user(
            cls.env, login="qbo_map_ts_admin", groups="hr_timesheet.group_timesheet_manager"
        )
        # A settings administrator without HR rights on employees.
        cls.sys_admin = new_test_user(cls.env, login="qbo_map_sysadmin", groups="base.group_system")
        cls.ts_user = new_test_user(
            cls.env, login="qbo_map_ts_user", groups="hr_timesheet.group_hr_timesheet_user"
        )

    def test_timesheet_admin_sets_the_project_customer(self):
        self.assertFalse(self.ts_admin.has_group("project.group_project_manager"))
        self.project.with_user(self.ts_admin).write({"qbo_customer_id": self.customer.id})
        self.assertEqual(self.project.qbo_customer_id, self.customer)
        self.assertEqual(self.project.qbo_customer_how, "manual")

    def test_timesheet_admin_cannot_rename_the_project(self):
        with self.assertRaises(AccessError) as caught:
            self.project.with_user(self.ts_admin).write({"name": "Renamed"})
        self.assertIn("Nobody Knows This Project", str(caught.exception))
        self.assertEqual(self.project.name, "Nobody Knows This Project")

    def test_project_administrator_keeps_full_write_access(self):
        manager = new_test_user(
            self.env,
            login="qbo_map_pm",
            groups="project.group_project_manager,hr_timesheet.group_timesheet_manager",
        )
        self.project.with_user(manager).write({"name": "Renamed by its manager"})
        self.assertEqual(self.project.name, "Renamed by its manager")

    def test_settings_admin_maps_an_employee_but_edits_nothing_else(self):
        employee = self.employee.with_user(self.sys_admin)
        employee.write({"qbo_payee_id": self.payee.id})
        self.assertEqual(self.employee.qbo_effective_payee_id, self.payee)
        with self.assertRaises(AccessError):
            employee.write({"name": "Someone Else"})

    def test_timesheet_user_cannot_map(self):
        with self.assertRaises(AccessError):
            self.project.with_user(self.ts_user).write({"qbo_customer_id": self.customer.id})

    def test_needs_attention_filter_finds_unmapped_projects_only(self):
        found = self.env["project.project"].search(
            [("qbo_customer_how", "in", ["missing", "ambiguous", "inactive"])]
        )
        self.assertIn(self.project, found)
        self.assertNotIn(self.mapped_project, found)
        manual = self.env["project.project"].search([("qbo_customer_how", "in", ["manual"])])
        self.assertEqual(manual, self.mapped_project)

    def test_mapping_screen_is_editable_for_a_timesheet_admin(self):
        view = self.env.ref("noko_qbo.project_project_view_list_qbo_mapping")
        arch = (
            self.env["project.project"]
            .with_user(self.ts_admin)
            .get_views([(view.id, "list")])["views"]["list"]["arch"]
        )
        self.assertNotIn('edit="false"', arch)
