from odoo.tests import tagged

from .common import project_mapping
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestQuickBooksProjects(ExportCase):
    """QuickBooks Projects: sub-customers with IsProject, mapped and sent as the customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Customer = cls.env["qbo.customer"].sudo()
        cls.signage = Customer.search([("name", "=", "Storefront Signage")])
        cls.freeman = Customer.search([("name", "=", "Freeman Sporting Goods")])
        partner = cls.env["res.partner"].create({"name": "Freeman Sporting Goods"})
        cls.signage_project = cls.env["project.project"].create(
            {"name": "Storefront Signage", "partner_id": partner.id, "allow_timesheets": True}
        )

    def test_projects_are_cached_as_projects(self):
        self.assertTrue(self.signage.is_project)
        self.assertEqual(self.signage.customer_type, "project")
        self.assertEqual(self.signage.parent_id, self.freeman)
        self.assertEqual(self.freeman.customer_type, "customer")
        job = self.env["qbo.customer"].search([("name", "=", "Spring Bird Count")])
        self.assertEqual((job.is_project, job.customer_type), (False, "sub_customer"))

    def test_mapping_by_name_finds_the_project(self):
        mapping = project_mapping(self.signage_project)
        self.assertEqual(mapping.found_by, "name")
        self.assertEqual(mapping.effective_customer_id, self.signage)
        self.assertEqual(mapping.effective_customer_type, "project")

    def test_time_to_a_project_is_sent_with_the_project_as_customer(self):
        line = self.make_lines(1, project=self.signage_project)
        plan = line._qbo_time_activity_plans(self.company)[line.id]
        payload = line._qbo_time_activity_payload(plan)
        self.assertEqual(payload["CustomerRef"]["value"], self.signage.qbo_id)
        self.assertNotIn("ProjectRef", payload)  # CustomerRef works on every QBO edition
        run = self.export(line)
        self.assertEqual((run.state, line.qbo_state), ("done", "exported"))
        stored = next(
            a for a in self.sandbox.entities("TimeActivity") if a["Id"] == line.qbo_time_activity_id
        )
        self.assertEqual(stored["CustomerRef"]["value"], self.signage.qbo_id)
        self.assertEqual(stored["BillableStatus"], "Billable")
