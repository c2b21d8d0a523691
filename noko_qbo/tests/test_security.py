from odoo.exceptions import AccessError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from .common import QboCase, project_mapping


@tagged("post_install", "-at_install")
class TestQboSecurity(QboCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other Co"})
        cls.timesheet_user = cls.qbo_user("qbo_sec_ts_user", "hr_timesheet.group_hr_timesheet_user")
        cls.qbo_manager = cls.qbo_user("qbo_sec_manager", "hr_timesheet.group_timesheet_manager")
        cls.other_admin = cls.qbo_user(
            "qbo_sec_other_admin", "base.group_system", cls.other_company
        )
        cls.project = cls.env["project.project"].create(
            {"name": "Acme site", "company_id": cls.company.id}
        )
        cls.customer = cls.env["qbo.customer"].search(
            [("company_id", "=", cls.company.id), ("active_in_qbo", "=", True)], limit=1
        )

    def read_fields(self, user, company, names):
        company.with_user(user).read(names)

    def test_admin_reads_tokens(self):
        values = self.company.read(["qbo_refresh_token", "qbo_access_token", "qbo_client_secret"])[
            0
        ]
        self.assertTrue(values["qbo_refresh_token"])
        self.assertTrue(values["qbo_client_secret"])

    def test_timesheet_user_sees_nothing_of_the_connection(self):
        for names in (
            ["qbo_refresh_token"],
            ["qbo_client_secret"],
            ["qbo_realm_id"],
            ["qbo_connected"],
        ):
            with self.assertRaises(AccessError):
                self.read_fields(self.timesheet_user, self.company, names)
        with self.assertRaises(AccessError):
            self.env["qbo.token"].with_user(self.timesheet_user).search([])
        with self.assertRaises(AccessError):
            self.env["qbo.customer"].with_user(self.timesheet_user).search([])
        # RPC-style read of every field silently leaves the protected ones out
        values = self.company.with_user(self.timesheet_user).read()[0]
        self.assertFalse([name for name in values if name.startswith("qbo_")])
        with self.assertRaises(AccessError):
            self.project.with_user(self.timesheet_user).read(["qbo_mapping_ids"])

    def test_qbo_manager_sees_health_not_tokens(self):
        values = self.company.with_user(self.qbo_manager).read(["qbo_realm_id", "qbo_connected"])[0]
        self.assertTrue(values["qbo_connected"])
        with self.assertRaises(AccessError):
            self.read_fields(self.qbo_manager, self.company, ["qbo_refresh_token"])
        with self.assertRaises(AccessError):
            self.read_fields(self.qbo_manager, self.company, ["qbo_client_secret"])

    def test_admin_of_another_company_cannot_read_the_tokens(self):
        with self.assertRaises(AccessError):
            self.read_fields(self.other_admin, self.company, ["qbo_refresh_token"])
        with self.assertRaises(AccessError):
            self.read_fields(self.other_admin, self.company, ["qbo_access_token"])

    def test_only_qbo_managers_change_mappings(self):
        project_admin = self.qbo_user("qbo_sec_project_admin", "project.group_project_manager")
        self.assertFalse(project_admin.has_group("noko_qbo.group_qbo_manager"))
        mapping = project_mapping(self.project)
        with self.assertRaises(AccessError):  # may write projects, not their QuickBooks mapping
            mapping.with_user(project_admin).write({"customer_id": self.customer.id})
        project_admin.group_ids |= self.env.ref("noko_qbo.group_qbo_manager")
        mapping.with_user(project_admin).write({"customer_id": self.customer.id})
        self.assertEqual(mapping.customer_id, self.customer)

    def test_only_qbo_managers_connect(self):
        with self.assertRaises(AccessError):
            self.company.with_user(self.timesheet_user)._qbo_authorization_url()
        with self.assertRaises(AccessError):
            self.company.with_user(self.timesheet_user)._qbo_disconnect()

    def test_cache_is_per_company(self):
        other_manager = self.qbo_user(
            "qbo_sec_other_manager", "hr_timesheet.group_timesheet_manager", self.other_company
        )
        self.assertTrue(self.env["qbo.customer"].with_user(self.qbo_manager).search_count([]))
        self.assertFalse(self.env["qbo.customer"].with_user(other_manager).search_count([]))

    def test_neutralized_database_forgets_the_connection(self):
        self.assertTrue(self.company._qbo_is_connected())
        queries = list(get_neutralization_queries(["noko_qbo"]))
        self.assertEqual(len(queries), 1)
        self.env.flush_all()
        self.env.cr.execute(queries[0])
        self.env.invalidate_all()
        self.assertFalse(self.env["qbo.token"].sudo().search([]))
        self.assertFalse(self.company.qbo_refresh_token)
        self.assertFalse(self.company.qbo_realm_id)
        self.assertFalse(self.company._qbo_is_connected())
        self.assertTrue(self.company.qbo_client_id)  # the app's credentials stay
