import time
from datetime import date

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import map_employee, project_mapping
from .test_export_flow import ExportCase


@tagged("post_install", "-at_install")
class TestPreview(ExportCase):
    def _line_of(self, preview, line):
        return preview.line_ids.filtered(lambda row: row.line_id in line)

    def test_preview_shows_what_each_line_becomes(self):
        emily = self.make_lines(1, hours=1.75)
        nadia = self.make_lines(1, employee=self.nadia, hours=0.5)
        preview = self.preview(emily | nadia)
        row = self._line_of(preview, emily)
        self.assertEqual(row.customer_id, self.customer_cool_cars)
        self.assertEqual(row.payee_id.name, "Emily Platt")
        self.assertEqual(row.payee_type, "employee")
        self.assertEqual(row.item_id, self.item_hours)
        self.assertEqual(row.duration, "1:45")
        self.assertTrue(row.billable)
        self.assertEqual(row.hourly_rate, 95)  # Emily's bill rate in QuickBooks
        self.assertEqual(row.status, "ready")
        self.assertEqual(self._line_of(preview, nadia).payee_type, "vendor")
        self.assertEqual((preview.count_lines, preview.count_ready), (2, 2))
        self.assertAlmostEqual(preview.hours_total, 2.25)
        self.assertAlmostEqual(preview.hours_billable, 2.25)  # both at QuickBooks rates
        self.assertIn("Cool Cars", preview.summary_html)
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
        self.assertEqual(self._line_of(preview, exported).status, "skipped")
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

    def test_preview_queries_do_not_grow_per_line(self):
        counts, timings = {}, {}
        for size in (50, 200):
            employees = self.env["hr.employee"].create(
                [{"name": f"Worker {size}-{index}"} for index in range(5)]
            )
            lines = self.env["account.analytic.line"]
            for employee in employees:
                lines |= self.make_lines(size // 5, employee=employee)
            self.env.flush_all()
            self.env.invalidate_all()
            start, began = self.cr.sql_log_count, time.perf_counter()
            self.preview(lines)
            self.env.flush_all()
            counts[size] = self.cr.sql_log_count - start
            timings[size] = time.perf_counter() - began
        self.assertLess(counts[200] - counts[50], 15, counts)

    def test_list_button_without_selection_previews_the_whole_filter(self):
        lines = self.make_lines(3)
        Preview = self.env["qbo.export.preview"].with_user(self.manager)
        action = Preview.with_context(
            active_model="account.analytic.line",
            active_ids=[],
            active_domain=[("id", "in", lines.ids)],
        ).action_open_from_timesheets()
        preview = Preview.browse(action["res_id"])
        self.assertEqual(preview.line_ids.line_id, lines)

    def test_list_button_is_in_the_timesheet_list_for_managers_only(self):
        view = self.env.ref("hr_timesheet.hr_timesheet_line_tree")
        Line = self.env["account.analytic.line"]
        manager_arch = Line.with_user(self.manager).get_views([(view.id, "list")])["views"]
        user_arch = Line.with_user(self.timesheet_user).get_views([(view.id, "list")])["views"]
        self.assertIn("Export to QuickBooks Online", manager_arch["list"]["arch"])
        self.assertNotIn("Export to QuickBooks Online", user_arch["list"]["arch"])
