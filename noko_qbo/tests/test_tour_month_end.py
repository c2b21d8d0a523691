"""The manager's month-end in a real browser (Odoo tour, Chromium headless, 1366x768).

``NOKO_QBO_SCREENSHOTS=noko_qbo/static/description``: the README's
``screenshot_preview.png`` (and ``screenshot_preview_lines.png``) and
``screenshot_export_run.png``, see ``tour_common``.
"""

from odoo.tests import HttpCase, new_test_user, tagged

from .common import QboSetupMixin
from .tour_common import QboTourMixin


@tagged("post_install", "-at_install")
class TestTourMonthEnd(QboTourMixin, QboSetupMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._qbo_setup_class()
        env = cls.env
        with cls._qbo_test_cursor_allowed():
            cls.company.sudo()._qbo_read_company(cls.company.sudo()._qbo_client())
        cls.company.sudo().qbo_default_item_id = env["qbo.item"].search(
            [("company_id", "=", cls.company.id), ("name", "=", "Hours")]
        )
        cls.manager = new_test_user(
            env,
            login="tour_manager",
            groups="noko_qbo.group_qbo_manager,hr_timesheet.group_hr_timesheet_approver",
            email="tour_manager@example.com",
        )
        partner = env["res.partner"].create({"name": "Cool Cars Inc."})
        project = env["project.project"].create(
            {"name": "Cool Cars", "partner_id": partner.id, "allow_timesheets": True}
        )
        emily = env["hr.employee"].create({"name": "Emily Platt"})
        cls.unmapped = env["hr.employee"].create({"name": "Tour Unmapped Person"})
        cls.lines = env["account.analytic.line"].create(
            [
                {
                    "name": f"Month end tour work {index}",
                    "project_id": project.id,
                    "employee_id": employee.id,
                    "unit_amount": 1.5,
                    "date": "2025-03-03",
                }
                for index, employee in enumerate((emily, cls.unmapped, cls.unmapped))
            ]
        )
        env["account.analytic.line"].create(  # not in the filter: must not be exported
            {
                "name": "Another report's work",
                "project_id": project.id,
                "employee_id": emily.id,
                "unit_amount": 1.0,
                "date": "2025-03-03",
            }
        )
        env["ir.filters"].create(
            {
                "name": "Month end tour",
                "model_id": "account.analytic.line",
                "action_id": env.ref("hr_timesheet.timesheet_action_all").id,
                "domain": "[('name', 'ilike', 'Month end tour')]",
                "user_ids": [(4, cls.manager.id)],
            }
        )

    def test_month_end_filter_export_fix_in_dialog_confirm(self):
        self.start_tour("/odoo", "noko_qbo_month_end", login="tour_manager", timeout=120)
        self.assertEqual(self.qbo_screenshots, ["screenshot_preview", "screenshot_preview_lines"])
        self.assertEqual(
            self.env["qbo.employee.mapping"]
            ._qbo_for(self.unmapped)[self.unmapped.id]
            .payee_id.name,
            "John Johnson",
        )
        run = self.env["qbo.export"].search([("user_id", "=", self.manager.id)])
        self.assertEqual(len(run), 1)
        self.assertEqual(run.result_ids.line_id, self.lines)
        self.assertEqual(set(self.lines.mapped("qbo_state")), {"approved"})
        # the jobs send it (this test's thread performs them), then the run as it ends
        run._qbo_export_chunk(run.result_ids)
        run._qbo_finish()
        self.assertEqual(set(self.lines.mapped("qbo_state")), {"exported"})
        self.start_tour(
            f"/odoo/qbo.export/{run.id}", "noko_qbo_export_run_done", login="tour_manager"
        )
        self.assertEqual(self.qbo_screenshots[-1], "screenshot_export_run")
