"""The export preview's new entry points, attacked from the outside over real HTTP.

Grouped problems (Fix, Send without a QuickBooks customer), the Refresh, and
the Save of a Fix dialog (``action_qbo_back_to_preview`` on the mappings): as
a timesheet user and as company B's QuickBooks manager they are refused and
change nothing; company A's manager who made the preview is allowed.
"""

from odoo.tests import HttpCase, tagged

from .test_security_http import ALLOWED, TRANSPORTS, SecurityHttpMixin, attempt

NO_CUSTOMER = "qbo.project.mapping_missing"


@tagged("post_install", "-at_install")
class TestSecurityHttpPreview(SecurityHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._security_setup_connected()
        env = cls.env
        mgr, b_mgr = cls.users["sec_mgr"], cls.users["sec_b_mgr"]
        # A project no QuickBooks customer matches, an employee no payee matches
        cls.line_problems = env["account.analytic.line"].create(
            {
                "name": "sec preview problems",
                "employee_id": cls.emp_unmapped.id,
                "project_id": cls.project_a2.id,
                "unit_amount": 1.0,
                "date": "2025-03-04",
            }
        )
        Preview, Problem = env["qbo.export.preview"], env["qbo.export.preview.problem"]
        cls.preview = Preview.with_user(mgr).create({"company_id": cls.company_a.id})
        cls.preview._qbo_build(cls.line_problems.with_user(mgr))
        problems = cls.preview.sudo().problem_ids
        cls.problem_customer = problems.filtered(lambda p: p.code == NO_CUSTOMER)
        cls.problem_payee = problems - cls.problem_customer
        assert cls.problem_customer.fix_res_id == cls.pm_a2.id, problems.read()
        cls.em_unmapped = env["qbo.employee.mapping"]._qbo_for(cls.emp_unmapped)[
            cls.emp_unmapped.id
        ]
        # B's manager forges rows of his own preview pointing at A's mappings
        cls.forged_b = Preview.with_user(b_mgr).create({"company_id": cls.company_b.id})
        cls.forged_customer = Problem.with_user(b_mgr).create(
            {
                "preview_id": cls.forged_b.id,
                "code": NO_CUSTOMER,
                "fix_model": "qbo.project.mapping",
                "fix_res_id": cls.pm_a2.id,
            }
        )
        cls.forged_fix = Problem.with_user(b_mgr).create(
            {
                "preview_id": cls.forged_b.id,
                "code": "qbo.employee.mapping_missing",
                "fix_model": "qbo.employee.mapping",
                "fix_res_id": cls.em_unmapped.id,
            }
        )
        env.flush_all()

    def _counts_of(self, preview):
        preview = preview.sudo()
        preview.invalidate_recordset()
        return (preview.count_blocked, preview.count_ready, len(preview.problem_ids))

    def test_preview_problem_buttons_check_the_caller_and_the_records(self):
        P, M = "qbo.export.preview", "qbo.project.mapping"
        Prob = "qbo.export.preview.problem"
        customer, payee = self.problem_customer.ids, self.problem_payee.ids
        back = {"qbo_preview_id": self.preview.id}
        before = self._counts_of(self.preview)
        self.assertEqual(before, (1, 0, 2))

        def refreshed_without_customer(case, answer):
            mapping = case.pm_a2.sudo()
            mapping.invalidate_recordset()
            if not mapping.without_customer:
                return "the project mapping is not sent without a customer"
            if answer.get("res_id") != case.preview.id:
                return f"answered {answer}, not the preview"
            counts = case._counts_of(case.preview)
            # the employee still blocks the line; the project's cause is gone
            return None if counts[2] == 1 else f"preview not refreshed: {counts}"

        def opens(model, record):
            def check(case, answer):
                if (answer.get("res_model"), answer.get("res_id")) != (model, record.id):
                    return f"opened {answer}"
                if answer.get("target") != "new":
                    return "not in a dialog"
                return case.no_change(case, answer)

            return check

        def preview_unchanged(case, message):
            counts = case._counts_of(case.preview)
            return None if counts == before else f"the preview changed: {counts}"

        attempts = [
            # Send without a QuickBooks customer
            attempt(
                "send without customer as timesheet user",
                "sec_ts",
                Prob,
                "action_send_without_customer",
                customer,
            ),
            attempt(
                "send without customer, another company's preview",
                "sec_b_mgr",
                Prob,
                "action_send_without_customer",
                customer,
            ),
            attempt(
                "send without customer, A in context",
                "sec_ab_mgr",
                Prob,
                "action_send_without_customer",
                customer,
                context={"allowed_company_ids": [self.company_a.id, self.company_b.id]},
            ),
            attempt(
                "send without customer, forged row on A's mapping",
                "sec_b_mgr",
                Prob,
                "action_send_without_customer",
                self.forged_customer.ids,
            ),
            attempt(
                "send without customer, control",
                "sec_mgr",
                Prob,
                "action_send_without_customer",
                customer,
                expect=ALLOWED,
                check=refreshed_without_customer,
            ),
            # Fix (opens the mapping in a dialog)
            attempt("fix as timesheet user", "sec_ts", Prob, "action_open_fix", payee),
            attempt("fix, another's preview", "sec_b_mgr", Prob, "action_open_fix", payee),
            attempt(
                "fix, forged row on A's mapping",
                "sec_b_mgr",
                Prob,
                "action_open_fix",
                self.forged_fix.ids,
            ),
            attempt(
                "fix, control",
                "sec_mgr",
                Prob,
                "action_open_fix",
                payee,
                expect=ALLOWED,
                check=opens("qbo.employee.mapping", self.em_unmapped),
            ),
            # Refresh
            attempt(
                "refresh as timesheet user",
                "sec_ts",
                P,
                "action_refresh",
                self.preview.ids,
                check=preview_unchanged,
            ),
            attempt(
                "refresh another company's preview",
                "sec_b_mgr",
                P,
                "action_refresh",
                self.preview.ids,
                check=preview_unchanged,
            ),
            attempt(
                "refresh, control",
                "sec_mgr",
                P,
                "action_refresh",
                self.preview.ids,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda answer: answer["res_id"] == self.preview.id, "not the preview"
                ),
            ),
            # The Save of a Fix dialog: the mapping's button, the preview from the context
            attempt(
                "fix dialog save as timesheet user",
                "sec_ts",
                M,
                "action_qbo_back_to_preview",
                self.pm_a2.ids,
                context=back,
            ),
            attempt(
                "fix dialog save on A's mapping",
                "sec_b_mgr",
                M,
                "action_qbo_back_to_preview",
                self.pm_a2.ids,
                context=back,
            ),
            attempt(
                "fix dialog save, own mapping, A's preview in context",
                "sec_b_mgr",
                M,
                "action_qbo_back_to_preview",
                self.pm_b.ids,
                context=back,
                check=preview_unchanged,
            ),
            attempt(
                "fix dialog save, employee mapping of A",
                "sec_b_mgr",
                "qbo.employee.mapping",
                "action_qbo_back_to_preview",
                self.em_unmapped.ids,
                context=back,
            ),
            attempt(
                "fix dialog save, control",
                "sec_mgr",
                M,
                "action_qbo_back_to_preview",
                self.pm_a2.ids,
                context=back,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda answer: answer["res_id"] == self.preview.id, "not the preview"
                ),
            ),
        ]
        self.run_attempts([a._replace(transports=TRANSPORTS) for a in attempts])
