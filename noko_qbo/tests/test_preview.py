from datetime import date

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models.qbo_access import check_read
from .common import employee_mapping, map_employee, map_project, project_mapping
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestPreview(ExportCase):
    def _line_of(self, preview, line):
        return preview.line_ids.filtered(lambda row: row.line_id in line)

    def test_preview_shows_what_each_line_becomes(self):
        emily = self.make_lines(1, hours=1.75, name="x" * 4100)  # a warning: a row of its own
        nadia = self.make_lines(1, employee=self.nadia, hours=0.5)
        preview = self.preview(emily | nadia)
        self.assertEqual(preview.timesheet_ids, emily | nadia)
        row = self._line_of(preview, emily)
        self.assertEqual(row.customer_id, self.customer_cool_cars)
        self.assertEqual(row.payee_id.name, "Emily Platt")
        self.assertEqual(row.payee_type, "employee")
        self.assertEqual(row.item_id, self.item_hours)
        self.assertEqual(row.duration, "1:45")
        self.assertTrue(row.billable)
        self.assertEqual(row.hourly_rate, 95)  # Emily's bill rate in QuickBooks
        self.assertEqual(row.status, "warning")
        self.assertFalse(self._line_of(preview, nadia))  # ready: only in All lines
        self.assertEqual((preview.count_lines, preview.count_ready), (2, 1))
        self.assertAlmostEqual(preview.hours_total, 2.25)
        self.assertAlmostEqual(preview.hours_billable, 2.25)  # both at QuickBooks rates
        self.assertIn("Cool Cars", preview.summary_html)
        self.assertIn("Nadia Petrova (Vendor)", preview.summary_html)
        self.assertFalse(preview.connection_problem)

    def test_preview_reports_problems_and_links_to_the_fix(self):
        unmapped = self.make_lines(1, project=self.project_unmapped)
        nobody = self.make_lines(1, employee=self.nobody)
        zero = self.make_lines(1, hours=0)
        long_day = self.make_lines(2, employee=self.john, hours=13, day=date(2025, 3, 5))
        long_text = self.make_lines(1, name="x" * 4100)
        exported = self.make_lines(1)
        self.export(exported)
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self.manager.company_ids |= other_company
        preview = self.preview(unmapped | nobody | zero | long_day | long_text | exported)
        row = self._line_of(preview, unmapped)
        self.assertEqual(row.status, "blocked")
        mapping = project_mapping(self.project_unmapped)
        self.assertEqual((row.fix_model, row.fix_res_id), ("qbo.project.mapping", mapping.id))
        fix = row.action_open_fix()
        self.assertEqual((fix["res_model"], fix["res_id"]), ("qbo.project.mapping", mapping.id))
        self.assertEqual(fix["target"], "new")  # a dialog over the preview
        row = self._line_of(preview, nobody)
        self.assertEqual((row.status, row.fix_model), ("blocked", "qbo.employee.mapping"))
        self.assertEqual(self._line_of(preview, zero).status, "skipped")  # left unlocked
        self.assertEqual(set(self._line_of(preview, long_day).mapped("status")), {"warning"})
        self.assertIn("24", self._line_of(preview, long_day)[0].problem)
        self.assertEqual(self._line_of(preview, long_text).status, "warning")
        self.assertFalse(self._line_of(preview, exported))  # All lines: its badge says Exported
        self.assertIn(exported, preview.timesheet_ids)
        self.assertEqual(preview.count_skipped, 2)
        self.assertEqual(preview.count_blocked, 2)
        # another company's line is listed, skipped, and left draft on confirm
        foreign = self.make_lines(1)
        foreign.sudo().write({"company_id": other_company.id})
        preview = self.preview(foreign | nobody)
        self.assertEqual(self._line_of(preview, foreign).status, "skipped")

    def test_refresh_counts_a_mapping_fixed_after_the_preview(self):
        line = self.make_lines(1, employee=self.nobody)
        preview = self.preview(line)
        self.assertEqual(preview.count_blocked, 1)
        map_employee(self.nobody, self.env["qbo.payee"].search([("name", "=", "John Johnson")]))
        preview.action_refresh()
        self.assertEqual((preview.count_blocked, preview.count_ready), (0, 1))

    def test_cancel_changes_nothing(self):
        line = self.make_lines(1)
        self.preview(line)
        self.assertEqual(line.qbo_state, "draft")
        self.assertFalse(self.env["qbo.export"].search([("result_ids.line_id", "=", line.id)]))

    def test_whole_filter_uses_the_domain_not_the_capped_ids(self):
        lines = self.make_lines(5, name="filter-me")
        self.env["ir.config_parameter"].sudo().set_param("web.active_ids_limit", 3)
        action = (
            self.env["qbo.export.preview"]
            .with_user(self.manager)
            .with_context(
                active_model="account.analytic.line",
                active_ids=lines[:3].ids,
                active_domain=[("name", "=", "filter-me")],
            )
            .action_open_from_timesheets()
        )
        preview = self.env["qbo.export.preview"].browse(action["res_id"])
        self.assertEqual(preview.count_lines, 5)

    def test_not_connected_and_time_tracking_off_are_shown(self):
        line = self.make_lines(1)
        self.company.sudo().qbo_time_tracking = False
        preview = self.preview(line)
        self.assertIn("Time Tracking", preview.connection_problem)
        with self.assertRaises(UserError):
            preview.action_confirm()
        self.company.sudo()._qbo_token_record().unlink()
        self.env.invalidate_all()
        preview.action_refresh()
        self.assertIn("not connected", preview.connection_problem)

    def test_preview_queries_do_not_grow_with_the_lines(self):
        """Building a preview of 3N lines makes as many queries as one of N."""
        self.preview(self.make_lines(1, employee=self.nobody))  # warm-up: lists, caches
        counts = {}
        for size in (20, 60):
            employees = self.env["hr.employee"].create(
                [{"name": f"Worker {size}-{index}"} for index in range(5)]
            )
            lines = self.env["account.analytic.line"]
            for employee in employees:
                lines |= self.make_lines(size // 5, employee=employee)
            self.env.flush_all()
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            preview = self.preview(lines)
            self.env.flush_all()
            counts[size] = self.cr.sql_log_count - start
            self.assertEqual(len(preview.timesheet_ids), size)
            self.assertEqual(len(preview.line_ids), size)  # all blocked: a row each
            self.assertEqual(len(preview.problem_ids), 5)  # 5 unmapped workers, 1 row each
        self.assertEqual(counts[20], counts[60], counts)

    def test_confirm_queries_do_not_grow_with_the_lines_it_reads(self):
        """Confirm reads the previewed lines and checks their access in one go."""
        counts = {}
        for size in (1, 20, 60):  # 1: a warm-up (rules and groups read once)
            preview = self.preview(self.make_lines(size))
            self.env.flush_all()
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            lines = preview.timesheet_ids
            check_read(lines)
            lines.mapped("qbo_state")  # what the confirmation reads first
            counts[size] = self.cr.sql_log_count - start
            self.assertEqual(len(lines), size)
        self.assertEqual(counts[20], counts[60], counts)

    def test_read_check_of_many_lines_refuses_one_unreadable_line(self):
        lines = self.make_lines(3)
        check_read(lines.with_user(self.manager))  # an approver reads them all
        with self.assertRaises(AccessError):
            check_read(lines.with_user(self.timesheet_user))  # not their own timesheets

    # ------------------------------------------------------------------ grouped problems

    def test_problems_are_grouped_by_cause_with_lines_and_hours(self):
        self.make_lines(3, project=self.project_unmapped, hours=1.5)
        unmapped = self.env["account.analytic.line"].search(
            [("project_id", "=", self.project_unmapped.id)]
        )
        nobody = self.make_lines(1, employee=self.nobody, hours=0.25)
        long_text = self.make_lines(2, name="x" * 4100, hours=1)
        preview = self.preview(unmapped | nobody | long_text)
        by_code = {problem.code: problem for problem in preview.problem_ids}
        self.assertEqual(
            set(by_code),
            {
                "qbo.project.mapping_missing",
                "qbo.employee.mapping_missing",
                "description_truncated",
            },
        )
        project = by_code["qbo.project.mapping_missing"]
        self.assertEqual((project.count_lines, project.lines_label), (3, "3 lines"))
        self.assertEqual((project.minutes, project.duration), (270, "4:30"))
        self.assertIn("Moon Base Internal", project.message)
        self.assertTrue(project.blocking)
        self.assertEqual(
            (project.fix_model, project.fix_res_id),
            ("qbo.project.mapping", project_mapping(self.project_unmapped).id),
        )
        employee = by_code["qbo.employee.mapping_missing"]
        self.assertEqual((employee.count_lines, employee.lines_label), (1, "1 line"))
        self.assertIn("Zed Unknown", employee.message)
        self.assertEqual(employee.fix_res_id, employee_mapping(self.nobody).id)
        truncated = by_code["description_truncated"]
        self.assertEqual((truncated.count_lines, truncated.blocking), (2, False))
        self.assertFalse(truncated.fix_model)
        # blocking causes first
        self.assertFalse(preview.problem_ids[-1].blocking)
        # only the project without a customer is offered to go without one
        self.assertEqual(preview.problem_ids.filtered("can_send_without_customer"), project)

    def test_summary_per_customer_and_per_payee(self):
        self.make_lines(2, hours=1.5)
        cool_cars = self.env["account.analytic.line"].search([("project_id", "=", self.project.id)])
        nadia = self.make_lines(1, employee=self.nadia, hours=0.5)
        internal = self.make_lines(1, project=self.project_unmapped, hours=1)
        map_project(self.project_unmapped, without_customer=True)
        html = str(self.preview(cool_cars | nadia | internal).summary_html)
        self.assertRegex(html, r"Cool Cars</td>\s*<td[^>]*>3 lines</td>\s*<td[^>]*>3:30</td>")
        # Emily: two billable lines and the internal one
        self.assertRegex(
            html,
            r"Emily Platt \(Employee\)</td>\s*<td[^>]*>3 lines</td>\s*<td[^>]*>4:00</td>"
            r"\s*<td[^>]*>3:00<",
        )
        self.assertRegex(html, r"No customer \(internal time\)</td>\s*<td[^>]*>1 line</td>")
        # columns: lines, hours, billable hours; internal time is never billable
        self.assertRegex(
            html,
            r"internal time\)</td>\s*<td[^>]*>1 line</td>\s*<td[^>]*>1:00</td>\s*<td[^>]*>0:00<",
        )

    def test_send_without_customer_in_one_click(self):
        line = self.make_lines(1, project=self.project_unmapped)
        preview = self.preview(line)
        problem = preview.problem_ids
        self.assertEqual(problem.code, "qbo.project.mapping_missing")
        action = problem.action_send_without_customer()
        self.assertTrue(project_mapping(self.project_unmapped).without_customer)
        self.assertEqual((action["res_model"], action["res_id"]), (preview._name, preview.id))
        self.assertFalse(preview.problem_ids)
        self.assertEqual(preview.count_ready, 1)
        self.assertFalse(preview.line_ids)
        self.assertRegex(
            str(preview.summary_html),
            r"internal time\)</td>\s*<td[^>]*>1 line</td>\s*<td[^>]*>1:30</td>\s*<td[^>]*>0:00<",
        )

    def test_send_without_customer_is_only_for_a_missing_customer(self):
        line = self.make_lines(1, employee=self.nobody, project=self.project_unmapped)
        preview = self.preview(line)
        employee = preview.problem_ids.filtered(lambda p: p.code.startswith("qbo.employee"))
        self.assertFalse(employee.can_send_without_customer)
        self.assertFalse(employee.action_send_without_customer())
        self.assertFalse(project_mapping(self.project_unmapped).without_customer)

    def test_internal_project_is_offered_to_go_without_customer(self):
        internal = self.company.internal_project_id
        self.assertTrue(internal, "hr_timesheet gives every company an internal project")
        line = self.make_lines(1, project=internal)
        problem = self.preview(line).problem_ids
        self.assertTrue(problem.can_send_without_customer)
        self.assertIn(internal.name, problem.message)

    def test_fix_in_a_dialog_then_the_preview_comes_back_refreshed(self):
        line = self.make_lines(2, employee=self.nobody)
        preview = self.preview(line)
        problem = preview.problem_ids
        action = problem.action_open_fix()
        mapping = employee_mapping(self.nobody)
        self.assertEqual((action["res_model"], action["res_id"]), (mapping._name, mapping.id))
        self.assertEqual(action["target"], "new")
        fix_view = self.env.ref("noko_qbo.qbo_employee_mapping_view_form_preview_fix")
        self.assertEqual(action["views"], [(fix_view.id, "form")])
        # what the dialog does: save the row, then its Save button
        dialog = mapping.with_user(self.manager).with_context(**action["context"])
        dialog.payee_id = self.env["qbo.payee"].search([("name", "=", "John Johnson")])
        back = dialog.action_qbo_back_to_preview()
        self.assertEqual(
            (back["res_model"], back["res_id"], back["target"]), (preview._name, preview.id, "new")
        )
        self.assertFalse(preview.problem_ids)
        self.assertEqual(preview.count_ready, 2)
        self.assertFalse(preview.line_ids)
        self.assertIn("John Johnson (Employee)", preview.summary_html)

    def test_fix_dialog_without_a_preview_just_closes(self):
        mapping = employee_mapping(self.nobody).with_user(self.manager)
        self.assertEqual(
            mapping.action_qbo_back_to_preview(), {"type": "ir.actions.act_window_close"}
        )

    def test_company_wide_problem_opens_settings(self):
        self.item_hours.sudo().active_in_qbo = False
        preview = self.preview(self.make_lines(1))
        problem = preview.problem_ids
        self.assertEqual((problem.code, problem.fix_model), ("item_inactive", "res.company"))
        action = problem.action_open_fix()
        self.assertEqual(action["res_model"], "res.config.settings")
        self.assertNotEqual(action.get("target"), "new")

    def test_list_button_without_selection_previews_the_whole_filter(self):
        lines = self.make_lines(3)
        Preview = self.env["qbo.export.preview"].with_user(self.manager)
        action = Preview.with_context(
            active_model="account.analytic.line",
            active_ids=[],
            active_domain=[("id", "in", lines.ids)],
        ).action_open_from_timesheets()
        preview = Preview.browse(action["res_id"])
        self.assertEqual(preview.timesheet_ids, lines)

    def test_list_button_is_in_the_timesheet_list_for_managers_only(self):
        view = self.env.ref("hr_timesheet.hr_timesheet_line_tree")
        Line = self.env["account.analytic.line"]
        manager_arch = Line.with_user(self.manager).get_views([(view.id, "list")])["views"]
        user_arch = Line.with_user(self.timesheet_user).get_views([(view.id, "list")])["views"]
        self.assertIn("Export to QuickBooks Online", manager_arch["list"]["arch"])
        self.assertNotIn("Export to QuickBooks Online", user_arch["list"]["arch"])
