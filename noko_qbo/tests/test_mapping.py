from odoo.tests import TransactionCase, tagged

from ..models.qbo_mapping import normalize_name
from .common import employee_mapping, map_employee, map_project, project_mapping


@tagged("post_install", "-at_install")
class TestMapping(TransactionCase):
    """Projects -> QBO customers, employees -> QBO employees or vendors, from the cache."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Mapping Co"})
        cls.env.user.company_ids |= cls.company
        cls.env = cls.env(context=dict(cls.env.context, allowed_company_ids=cls.company.ids))
        ids = iter(range(1, 1000))

        def customer(name, parent=None, active=True):
            full = f"{parent.fully_qualified_name}:{name}" if parent else name
            return cls.env["qbo.customer"].create(
                {
                    "company_id": cls.company.id,
                    "qbo_id": str(next(ids)),
                    "name": name,
                    "fully_qualified_name": full,
                    "parent_id": parent.id if parent else False,
                    "is_job": bool(parent),
                    "active_in_qbo": active,
                }
            )

        def payee(name, kind, email=False, active=True):
            return cls.env["qbo.payee"].create(
                {
                    "company_id": cls.company.id,
                    "qbo_id": str(next(ids)),
                    "name": name,
                    "payee_type": kind,
                    "email": email,
                    "active_in_qbo": active,
                }
            )

        cls.acme = customer("Acme Corp")
        cls.smith = customer("Smith & Sons, Ltd.")
        cls.cafe = customer("Café Zoë")
        cls.menu = customer("Menu Redesign", parent=cls.cafe)
        cls.website_a = customer("Website", parent=cls.acme)
        cls.globex = customer("Globex")
        cls.globex_inc = customer("GLOBEX.")  # normalizes like "Globex" but differs exactly
        cls.hooli = customer("Hooli")
        cls.hooli_dup = customer("hooli!")
        cls.closed = customer("Old Harbor Brewing", active=False)
        cls.emily = payee("Emily Platt", "employee", "emily@larkspur.example")
        cls.pixel = payee("Pixel & Pine Studio", "vendor", "hello@pixelpine.example")
        cls.gone = payee("Former Worker", "employee", active=False)
        cls.john = payee("John Johnson", "employee", "jj@larkspur.example")
        cls.john_vendor = payee("John  Johnson.", "vendor")

    def project(self, name, customer=None, **values):
        project = self.env["project.project"].create(
            {"name": name, "company_id": self.company.id, **values}
        )
        if customer:
            map_project(project, customer_id=customer.id)
        return project

    def employee(self, name, payee=None, **values):
        employee = self.env["hr.employee"].create(
            {"name": name, "company_id": self.company.id, **values}
        )
        if payee:
            map_employee(employee, payee)
        return employee

    def resolve(self, project):
        return project._qbo_resolve_customers()[project.id]

    def assertResolved(self, resolution, record, found_by):
        self.assertEqual(
            (resolution.record, resolution.found_by), (record, found_by), resolution.message
        )
        self.assertTrue(resolution.message)

    # ------------------------------------------------------------------ names

    def test_normalization_rules(self):
        self.assertEqual(normalize_name("  Smith &  Sons, Ltd. "), "smith and sons ltd")
        self.assertEqual(normalize_name("Smith and Sons Ltd"), "smith and sons ltd")
        self.assertEqual(normalize_name("Café Zoë"), normalize_name("CAFE ZOE"))
        self.assertNotEqual(normalize_name("Acme Corp"), normalize_name("Acme"))

    # ------------------------------------------------------------------ projects

    def test_exact_name(self):
        self.assertResolved(self.resolve(self.project("Acme Corp")), self.acme, "name")

    def test_normalized_name(self):
        self.assertResolved(self.resolve(self.project("smith and sons ltd")), self.smith, "name")
        self.assertResolved(self.resolve(self.project("Cafe Zoe")), self.cafe, "name")

    def test_exact_beats_normalized(self):
        self.assertResolved(self.resolve(self.project("Globex")), self.globex, "name")

    def test_two_normalized_candidates_are_ambiguous(self):
        resolution = self.resolve(self.project("HOOLI"))
        self.assertResolved(resolution, self.env["qbo.customer"], "ambiguous")
        self.assertIn("HOOLI", resolution.message)

    def test_no_candidate_is_missing(self):
        self.assertResolved(
            self.resolve(self.project("Initech")), self.env["qbo.customer"], "missing"
        )

    def test_sub_customer_by_its_own_name(self):
        self.assertResolved(self.resolve(self.project("Menu Redesign")), self.menu, "name")
        self.assertResolved(self.resolve(self.project("Café Zoë:Menu Redesign")), self.menu, "name")

    def test_sub_customers_sharing_a_name_are_ambiguous(self):
        globex_site = self.env["qbo.customer"].create(
            {
                "company_id": self.company.id,
                "qbo_id": "900",
                "name": "Website",
                "fully_qualified_name": "Globex:Website",
                "is_job": True,
            }
        )
        self.assertResolved(
            self.resolve(self.project("Website")), self.env["qbo.customer"], "ambiguous"
        )
        self.assertResolved(self.resolve(self.project("Globex:Website")), globex_site, "name")

    def test_inactive_match_is_reported(self):
        self.assertResolved(
            self.resolve(self.project("Old Harbor Brewing")), self.closed, "inactive"
        )

    def test_override_wins_and_is_manual(self):
        project = self.project("Acme Corp", customer=self.globex)
        self.assertResolved(self.resolve(project), self.globex, "manual")
        self.assertEqual(project_mapping(project).effective_customer_id, self.globex)
        self.assertEqual(project_mapping(project).found_by, "manual")

    def test_inactive_override_is_reported(self):
        project = self.project("Anything", customer=self.closed)
        self.assertResolved(self.resolve(project), self.closed, "inactive")

    def test_projects_may_share_a_customer(self):
        first = self.project("Acme Corp")
        second = self.project("Acme rebrand", customer=self.acme)
        third = self.project(
            "Acme website", partner_id=self.env["res.partner"].create({"name": "Acme Corp"}).id
        )
        result = (first | second | third)._qbo_resolve_customers()
        self.assertEqual({result[p.id].record for p in first | second | third}, {self.acme})
        self.assertEqual(result[third.id].found_by, "name")
        self.assertIn("customer's name", result[third.id].message)

    def test_resolution_query_count_does_not_grow_with_projects(self):
        partner = self.env["res.partner"].create({"name": "Nobody In QBO"})
        few = self.env["project.project"].create(
            [
                {"name": f"P{n}", "company_id": self.company.id, "partner_id": partner.id}
                for n in range(3)
            ]
        )
        many = self.env["project.project"].create(
            [
                {"name": f"Q{n}", "company_id": self.company.id, "partner_id": partner.id}
                for n in range(60)
            ]
            + [{"name": "Acme Corp", "company_id": self.company.id}]
        )
        map_project(many[-1], customer_id=self.hooli.id)
        (few | many)._qbo_resolve_customers()  # the mapping rows exist from here on

        def queries(projects):
            self.env.invalidate_all()
            projects = projects.browse(projects.ids)
            before = self.env.cr.sql_log_count
            projects._qbo_resolve_customers()
            return self.env.cr.sql_log_count - before

        self.assertLessEqual(queries(many), queries(few) + 1)
        self.assertLessEqual(queries(many), 8)

    # ------------------------------------------------------------------ employees

    def test_employee_by_name(self):
        employee = self.employee("Emily Platt")
        self.assertResolved(employee._qbo_resolve_payees()[employee.id], self.emily, "name")

    def test_employee_matched_to_a_vendor(self):
        employee = self.employee("pixel and pine studio")
        resolution = employee._qbo_resolve_payees()[employee.id]
        self.assertResolved(resolution, self.pixel, "name")
        self.assertEqual(resolution.record.payee_type, "vendor")

    def test_employee_by_work_email(self):
        employee = self.employee("Em Platt-Jones", work_email="EMILY@larkspur.example")
        self.assertResolved(employee._qbo_resolve_payees()[employee.id], self.emily, "email")
        self.assertEqual(employee_mapping(employee).found_by, "email")

    def test_email_settles_an_ambiguous_name(self):
        # "John Johnson" (employee) vs "John  Johnson." (vendor): exact round finds one
        exact = self.employee("John Johnson")
        self.assertResolved(exact._qbo_resolve_payees()[exact.id], self.john, "name")
        loose = self.employee("john johnson")
        self.assertEqual(loose._qbo_resolve_payees()[loose.id].found_by, "ambiguous")
        loose.work_email = "jj@larkspur.example"
        self.assertResolved(loose._qbo_resolve_payees()[loose.id], self.john, "email")

    def test_employee_override_and_inactive(self):
        employee = self.employee("Someone", payee=self.pixel)
        self.assertResolved(employee._qbo_resolve_payees()[employee.id], self.pixel, "manual")
        map_employee(employee, self.gone)
        self.assertResolved(employee._qbo_resolve_payees()[employee.id], self.gone, "inactive")

    def test_employee_missing(self):
        employee = self.employee("Nobody Known")
        self.assertEqual(employee._qbo_resolve_payees()[employee.id].found_by, "missing")
        self.assertEqual(employee_mapping(employee).found_by, "missing")
