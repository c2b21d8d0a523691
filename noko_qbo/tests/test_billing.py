from odoo.tests import tagged

from .common import map_project
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestBillingPolicy(ExportCase):
    """Billable time gets QuickBooks' own rate, as QBO's time entry screen picks it."""

    def plan(self, employee, project=None):
        line = self.make_lines(1, employee=employee, project=project)
        return line._qbo_time_activity_plans(self.company)[line.id]

    def test_employee_bill_rate_comes_first(self):
        plan = self.plan(self.emily)  # QBO bill rate 95, her Odoo cost 80 is not a price
        self.assertEqual((plan.billable, plan.hourly_rate), (True, 95))

    def test_service_item_price_when_the_payee_has_no_bill_rate(self):
        plan = self.plan(self.nadia)  # a vendor without a bill rate; item "Hours" at 90
        self.assertEqual((plan.billable, plan.hourly_rate), (True, 90))

    def test_employee_whose_time_quickbooks_does_not_bill(self):
        hannah = self.env["hr.employee"].create({"name": "Hannah Weiss"})  # BillableTime false
        plan = self.plan(hannah)
        self.assertEqual((plan.billable, plan.hourly_rate), (False, None))
        self.assertNotIn("no_rate", [problem.code for problem in plan.problems])

    def test_no_rate_anywhere_is_sent_not_billable_with_a_warning(self):
        self.item_hours.sudo().unit_price = 0
        plan = self.plan(self.nadia)
        self.assertEqual((plan.billable, plan.hourly_rate), (False, None))
        warning = next(problem for problem in plan.problems if problem.code == "no_rate")
        self.assertFalse(warning.blocking)

    def test_project_without_a_customer_in_odoo_is_not_billable(self):
        internal = self.env["project.project"].create(
            {"name": "Cool Cars", "allow_timesheets": True}  # same QBO customer, no partner
        )
        plan = self.plan(self.emily, project=internal)
        self.assertEqual((plan.billable, plan.hourly_rate), (False, None))
        self.assertNotIn("no_rate", [problem.code for problem in plan.problems])

    def test_internal_time_goes_without_a_customer(self):
        internal = self.env["project.project"].create(
            {"name": "Team Meetings", "allow_timesheets": True}
        )
        self.assertEqual(map_project(internal, without_customer=True).found_by, "none")
        line = self.make_lines(1, project=internal)
        run = self.export(line)
        self.assertEqual((run.state, line.qbo_state), ("done", "exported"))
        activity = next(
            a for a in self.sandbox.entities("TimeActivity") if a["Id"] == line.qbo_time_activity_id
        )
        self.assertNotIn("CustomerRef", activity)
        self.assertEqual(activity["BillableStatus"], "NotBillable")

    def test_unmapped_project_still_blocks_its_lines(self):
        orphan = self.env["project.project"].create({"name": "Nobody In QuickBooks"})
        line = self.make_lines(1, project=orphan)
        run = self.export(line)
        self.assertEqual((run.state, line.qbo_state), ("done_with_errors", "approved"))
        self.assertIn("Nobody In QuickBooks", line.qbo_error)
