"""The new entry points from the outside: real HTTP, API keys, as each kind of user.

``qbo.export.export_domain`` (integrators: JSON-2 and XML-RPC), "Export the
waiting lines again" (method and server action) and scheduled exports (create).
The attempts table and its fingerprint are test_security_http's.
"""

import json

from odoo.tests import HttpCase, tagged

from .common import map_employee, map_project
from .test_security_http import ALLOWED, SecurityHttpMixin, attempt


@tagged("post_install", "-at_install")
class TestExportApi(SecurityHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._security_setup_connected()
        env, A = cls.env, cls.company_a
        map_project(cls.project_a, A, customer_id=cls.customer_a.id)
        map_employee(cls.emp_ts, cls.payee_a)
        # a finished run whose line QBO refused: it waits, and can go now
        mgr = cls.users["sec_mgr"]
        cls.line_wait = env["account.analytic.line"].create(
            {
                "name": "sec waiting",
                "employee_id": cls.emp_ts.id,
                "project_id": cls.project_a.id,
                "unit_amount": 1.0,
                "date": "2025-03-04",
            }
        )
        cls.run_wait = env["qbo.export"].with_user(mgr)._qbo_start(cls.line_wait.with_user(mgr), A)
        cls.run_wait.sudo().result_ids._qbo_set_failed("QuickBooks refused it (test)")
        cls.run_wait.sudo().state = "done_with_errors"
        cls.filter = env["ir.filters"].create(
            {"name": "Sec timesheets", "model_id": "account.analytic.line", "domain": "[]"}
        )
        env.flush_all()

    def fingerprint(self):
        """test_security_http's tables, and the schedules."""
        digests = super().fingerprint()
        self.env.cr.execute(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
            "FROM qbo_export_schedule t"
        )
        digests["qbo_export_schedule"] = self.env.cr.fetchone()[0]
        return digests

    def new_run(self, **expected):
        """An allowed attempt's check: one run more, with these values."""

        def check(case, value):
            run = case.env["qbo.export"].sudo().search([], limit=1)
            if run in (case.run_a, case.run_b, case.run_qbo, case.run_wait):
                return "no new run"
            actual = {name: getattr(run[name], "id", run[name]) for name in expected}
            return None if actual == expected else f"expected {expected}, found {actual}"

        return check

    # ------------------------------------------------------------------ export_domain

    def test_export_domain_over_json2_and_xmlrpc(self):
        E = "qbo.export"
        mine = {"domain": [("id", "=", self.line_draft.id)]}
        in_a = {"allowed_company_ids": [self.company_a.id]}

        def answered(case, value):
            if not (isinstance(value, dict) and value.get("state") == "queued"):
                return f"not a run: {value}"
            run = case.env[E].sudo().browse(value["id"])
            if run.result_ids.line_id != case.line_draft or value["count_pending"] != 1:
                return f"not the line's run: {value}"
            if case.line_draft.sudo().qbo_state != "approved":
                return "line not approved"
            return None

        both = ("json2", "xmlrpc")
        attempts = [
            attempt(
                "export, timesheet user", "sec_ts", E, "export_domain", kwargs=mine, transports=both
            ),
            attempt(
                "export, approver", "sec_approver", E, "export_domain", kwargs=mine, transports=both
            ),
            attempt(
                "export, QuickBooks manager without timesheet rights",
                "sec_qbo",
                E,
                "export_domain",
                kwargs=mine,
                transports=both,
            ),
            attempt(
                "export A's lines, manager of B",
                "sec_b_mgr",
                E,
                "export_domain",
                kwargs=mine,
                transports=both,
            ),
            attempt(
                "export A's lines, manager of B naming A",
                "sec_b_mgr",
                E,
                "export_domain",
                kwargs={**mine, "company_id": self.company_a.id},
                transports=both,
            ),
            attempt(
                "export A's lines, manager of B, A in context",
                "sec_b_mgr",
                E,
                "export_domain",
                kwargs=mine,
                context=in_a,
                transports=both,
            ),
            attempt(
                "export A's lines, manager of A and B working in B",
                "sec_ab_mgr",
                E,
                "export_domain",
                kwargs=mine,
                transports=both,
            ),
            attempt(
                "export an exported line",
                "sec_mgr",
                E,
                "export_domain",
                kwargs={"domain": [("id", "=", self.line_exported.id)]},
                transports=both,
                check=lambda case, message: (
                    None if "nothing to export" in message else f"unclear: {message}"
                ),
            ),
            attempt(
                "export, control",
                "sec_mgr",
                E,
                "export_domain",
                kwargs=mine,
                expect=ALLOWED,
                check=answered,
                transports=both,
            ),
            attempt(
                "export, manager of A and B naming A, control",
                "sec_ab_mgr",
                E,
                "export_domain",
                kwargs={**mine, "company_id": self.company_a.id},
                expect=ALLOWED,
                check=answered,
                transports=both,
            ),
        ]
        self.run_attempts(attempts)

    def test_the_readme_curl_call(self):
        """USAGE.md's example, as an integrator sends it: a bearer API key, a JSON body."""
        response = self.opener.post(
            f"{self.base_url()}/json/2/qbo.export/export_domain",
            data=json.dumps({"domain": [["id", "=", self.line_draft.id]]}),
            headers={
                "Authorization": f"bearer {self.keys['sec_mgr']}",
                "Content-Type": "application/json; charset=utf-8",
            },
            timeout=60,
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        answer = response.json()
        self.assertEqual(
            set(answer),
            {
                "id",
                "name",
                "state",
                "count_total",
                "count_pending",
                "count_exported",
                "count_skipped",
                "count_failed",
                "summary",
            },
        )
        run = self.env["qbo.export"].sudo().browse(answer["id"])
        self.assertEqual((run.user_id, run.count_total), (self.users["sec_mgr"], 1))

    # ------------------------------------------------------------------ export again

    def test_export_the_waiting_lines_again_from_the_outside(self):
        E = "qbo.export"
        again = self.env.ref("noko_qbo.qbo_export_action_export_waiting_again").id
        ids = self.run_wait.ids

        def action_context(context=None):
            return {**(context or {}), "active_model": E, "active_ids": ids, "active_id": ids[0]}

        new_run = self.new_run(origin_id=self.run_wait.id, user_id=self.users["sec_mgr"].id)
        attempts = [
            *[
                attempt(f"export again, {login}", login, E, "action_qbo_export_waiting_again", ids)
                for login in ("sec_ts", "sec_approver", "sec_qbo", "sec_b_mgr", "sec_plain")
            ],
            attempt(
                "export again, manager of A and B, B selected",
                "sec_ab_mgr",
                E,
                "action_qbo_export_waiting_again",
                ids,
                context={"allowed_company_ids": [self.company_b.id]},
            ),
            attempt(
                "export again, manager of B, A in context",
                "sec_b_mgr",
                E,
                "action_qbo_export_waiting_again",
                ids,
                context={"allowed_company_ids": [self.company_a.id]},
            ),
            *[
                attempt(
                    f"export again server action, {login}",
                    login,
                    "ir.actions.server",
                    "run",
                    [again],
                    context=action_context(),
                )
                for login in ("sec_ts", "sec_b_mgr", "sec_qbo")
            ],
            attempt(
                "export again a run still sending",
                "sec_mgr",
                E,
                "action_qbo_export_waiting_again",
                self.run_a.ids,
            ),
            attempt(
                "export again, control",
                "sec_mgr",
                E,
                "action_qbo_export_waiting_again",
                ids,
                expect=ALLOWED,
                check=new_run,
            ),
            attempt(
                "export again server action, control",
                "sec_mgr",
                "ir.actions.server",
                "run",
                [again],
                context=action_context(),
                expect=ALLOWED,
                check=new_run,
            ),
        ]
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ schedules

    def test_schedules_are_the_companys_quickbooks_managers(self):
        S = "qbo.export.schedule"

        def values(login, **more):
            return {
                "vals_list": [
                    {
                        "name": f"by {login}",
                        "filter_id": self.filter.id,
                        "company_id": self.company_a.id,
                        "user_id": self.users[login].id,
                        **more,
                    }
                ]
            }

        def created(login):
            def check(case, value):
                found = case.env[S].sudo().search([("name", "=", f"by {login}")])
                return None if found.user_id == case.users[login] else "not created"

            return check

        attempts = [
            attempt("schedule, timesheet user", "sec_ts", S, "create", kwargs=values("sec_ts")),
            attempt(
                "schedule, approver", "sec_approver", S, "create", kwargs=values("sec_approver")
            ),
            attempt(
                "schedule in A, manager of B", "sec_b_mgr", S, "create", kwargs=values("sec_b_mgr")
            ),
            attempt(
                "schedule as another manager",
                "sec_mgr",
                S,
                "create",
                kwargs=values("sec_qbo"),
            ),
            attempt(
                "schedule as a timesheet user, admin",
                "admin",
                S,
                "create",
                kwargs=values("sec_ts"),
            ),
            attempt(
                "schedule, control",
                "sec_mgr",
                S,
                "create",
                kwargs=values("sec_mgr"),
                expect=ALLOWED,
                check=created("sec_mgr"),
            ),
            attempt(
                "schedule as a manager, admin, control",
                "admin",
                S,
                "create",
                kwargs=values("sec_qbo"),
                expect=ALLOWED,
                check=created("sec_qbo"),
            ),
        ]
        self.run_attempts(attempts, every_transport=True)
