from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import employee_mapping, map_project, project_mapping


@tagged("post_install", "-at_install")
class TestMappingAccess(TransactionCase):
    """QuickBooks managers map projects and employees through mapping rows of our own:
    they get no right at all on the projects and employees themselves."""

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
        cls.mapped_project = cls.env["project.project"].create({"name": "Mapped Project"})
        map_project(cls.mapped_project, customer_id=cls.customer.id)
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
        cls.qbo_only = new_test_user(
            cls.env, login="qbo_map_qbo_only", groups="noko_qbo.group_qbo_manager"
        )

    def test_timesheet_admin_sets_the_project_customer(self):
        self.assertFalse(self.ts_admin.has_group("project.group_project_manager"))
        mapping = project_mapping(self.project).with_user(self.ts_admin)
        mapping.write({"customer_id": self.customer.id})
        self.assertEqual(mapping.found_by, "manual")
        self.assertEqual(mapping.effective_customer_id, self.customer)

    def test_timesheet_admin_cannot_rename_the_project(self):
        with self.assertRaises(AccessError):
            self.project.with_user(self.ts_admin).write({"name": "Renamed"})
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
        mapping = employee_mapping(self.employee).with_user(self.sys_admin)
        mapping.write({"payee_id": self.payee.id})
        self.assertEqual(mapping.effective_payee_id, self.payee)
        with self.assertRaises(AccessError):
            self.employee.with_user(self.sys_admin).write({"name": "Someone Else"})

    def test_timesheet_user_cannot_map(self):
        mapping = project_mapping(self.project)
        with self.assertRaises(AccessError):
            mapping.with_user(self.ts_user).write({"customer_id": self.customer.id})
        with self.assertRaises(AccessError):
            mapping.with_user(self.ts_user).read(["customer_id"])
        self.assertFalse(mapping.customer_id)

    def test_quickbooks_manager_gets_nothing_on_projects_and_employees(self):
        """The old write grant let them post, attach and read HR-only data: none of it now."""
        project = self.project.with_user(self.qbo_only)
        with self.assertRaises(AccessError):
            project.message_post(body="hello")
        with self.assertRaises(AccessError):
            self.env["ir.attachment"].with_user(self.qbo_only).create(
                {"name": "x.txt", "res_model": "hr.employee", "res_id": self.employee.id}
            )
        with self.assertRaises(AccessError):
            self.employee.with_user(self.qbo_only).read(["private_email"])

    def test_a_mapping_cannot_point_to_another_companys_customer(self):
        other = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        foreign = self.env["qbo.customer"].create(
            {"company_id": other.id, "qbo_id": "903", "name": "Foreign Customer"}
        )
        mapping = project_mapping(self.project)
        with self.assertRaises(UserError):
            mapping.write({"customer_id": foreign.id})
        with self.assertRaises(UserError):  # not through sudo either
            mapping.sudo().write({"customer_id": foreign.id})

    def test_needs_attention_filter_finds_unmapped_projects_only(self):
        unmapped, mapped = project_mapping(self.project), project_mapping(self.mapped_project)
        Mapping = self.env["qbo.project.mapping"]
        found = Mapping.search([("found_by", "in", ["missing", "ambiguous", "inactive"])])
        self.assertIn(unmapped, found)
        self.assertNotIn(mapped, found)
        self.assertEqual(Mapping.search([("found_by", "in", ["manual"])]), mapped)

    def test_mapping_screen_lists_every_project_for_a_timesheet_admin(self):
        action = self.env["qbo.project.mapping"].with_user(self.ts_admin).action_qbo_open_screen()
        self.assertEqual(action["res_model"], "qbo.project.mapping")
        rows = self.env["qbo.project.mapping"].with_user(self.ts_admin).search([])
        self.assertIn(self.project, rows.project_id)
        view = self.env.ref("noko_qbo.qbo_project_mapping_view_list")
        arch = (
            self.env["qbo.project.mapping"]
            .with_user(self.ts_admin)
            .get_views([(view.id, "list")])["views"]["list"]["arch"]
        )
        self.assertIn('editable="bottom"', arch)

    def test_mapping_screen_is_for_quickbooks_managers(self):
        with self.assertRaises(AccessError):
            self.env["qbo.project.mapping"].with_user(self.ts_user).action_qbo_open_screen()
