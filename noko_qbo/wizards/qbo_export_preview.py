"""The export preview: what every selected line becomes in QBO, before anything is locked.

Thin: the plan comes from ``account.analytic.line._qbo_time_activity_plans``
(set-based); this wizard stores it for display, groups its problems by cause,
sums it up per customer and payee, and confirms it.

What is stored, and why so (10,000 lines: the ORM's create of one row per line
cost a second, and even one INSERT pays a foreign key check per row and
column): the selected lines as a many2many (``timesheet_ids``, one INSERT of
id pairs; the All lines tab lists the timesheets themselves, 80 a page); a
``qbo.export.preview.line`` only for the lines with a problem, written by one
INSERT; one ``qbo.export.preview.problem`` per cause (code and record to fix);
the summary as an HTML table rendered once.
"""

import logging
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..const import SETTINGS_ACTION
from ..models.qbo_access import check_caller, check_read
from ..models.qbo_user_message import count_lines
from ..qbo.errors import QboFault

_logger = logging.getLogger(__name__)

#: Where a problem's fix lives (besides Settings): the mapping rows, and the form that
#: opens in a dialog over the preview and brings it back re-evaluated when saved.
FIX_VIEWS = {
    "qbo.project.mapping": "noko_qbo.qbo_project_mapping_view_form_preview_fix",
    "qbo.employee.mapping": "noko_qbo.qbo_employee_mapping_view_form_preview_fix",
}
#: Context key of a fix dialog: the preview to show again once the fix is saved.
PREVIEW_CONTEXT_KEY = "qbo_preview_id"

#: Columns of ``qbo.export.preview.line`` written by ``_qbo_insert_lines``.
LINE_COLUMNS = (
    "preview_id",
    "line_id",
    "date",
    "employee_id",
    "project_id",
    "description",
    "customer_id",
    "payee_id",
    "item_id",
    "class_id",
    "billable",
    "hourly_rate",
    "minutes",
    "duration",
    "status",
    "priority",
    "problem",
    "fix_model",
    "fix_res_id",
)
STATUS_ORDER = ("blocked", "warning", "ready", "skipped")


def hours_minutes(minutes):
    """``125`` → ``'2:05'``: the duration QBO will show."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours}:{rest:02d}"


class QboExportPreview(models.TransientModel):
    _name = "qbo.export.preview"
    _description = "QuickBooks Online export preview"

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    timesheet_ids = fields.Many2many(
        "account.analytic.line",
        "qbo_export_preview_timesheet_rel",
        "preview_id",
        "line_id",
        string="Timesheet Lines",
        readonly=True,
    )
    line_ids = fields.One2many(
        "qbo.export.preview.line",
        "preview_id",
        string="Lines with problems",
        readonly=True,
    )
    problem_ids = fields.One2many("qbo.export.preview.problem", "preview_id", readonly=True)
    connection_problem = fields.Text(readonly=True)
    count_lines = fields.Integer("Entries", readonly=True)
    count_ready = fields.Integer("Ready", readonly=True)
    count_warning = fields.Integer("With warnings", readonly=True)
    count_blocked = fields.Integer("Will not be sent", readonly=True)
    count_skipped = fields.Integer("Skipped", readonly=True)
    hours_total = fields.Float("Hours", readonly=True)
    hours_billable = fields.Float("Billable hours", readonly=True)
    hours_not_billable = fields.Float("Not billable hours", readonly=True)
    summary_html = fields.Html(readonly=True, sanitize=False)
    export_id = fields.Many2one("qbo.export", readonly=True)

    # ------------------------------------------------------------------ open

    @api.model
    def action_open_from_timesheets(self):
        """Server action of the timesheet list: preview the selected lines, or the whole
        filter when the user selected all of it (``active_ids`` is capped then) or, from
        the list's button, selected nothing (Noko: export the whole report)."""
        check_caller(self.env.company)
        preview = self.create({"company_id": self.env.company.id})
        preview._qbo_sync_lists()
        preview._qbo_build(self._qbo_source_lines())
        return preview._qbo_action_reopen()

    @api.model
    def _qbo_source_lines(self):
        context = self.env.context
        lines = self.env["account.analytic.line"]
        if context.get("active_model") != "account.analytic.line":
            return lines
        ids = context.get("active_ids") or []
        domain = context.get("active_domain")
        limit = int(self.env["ir.config_parameter"].sudo().get_param("web.active_ids_limit", 20000))
        if domain is not None and (not ids or len(ids) >= limit):
            return lines.search(domain)
        return lines.browse(ids).exists()

    def _qbo_sync_lists(self):
        """Bring stale QBO lists up to date first, so mappings are judged on fresh data."""
        company = self.company_id.sudo()
        if not company._qbo_is_connected():
            return
        try:
            company._qbo_sync_lists()
        except (UserError, QboFault) as exc:
            # The preview still shows what is known; the connection problem says the rest.
            _logger.warning("QuickBooks lists of %s not refreshed: %s", company.name, exc)

    def _qbo_action_reopen(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Export to QuickBooks Online"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {"dialog_size": "extra-large"},
        }

    # ------------------------------------------------------------------ build

    def _qbo_build(self, lines):
        """Evaluate ``lines`` (read-access checked): store them, their problems and totals."""
        self.ensure_one()
        check_read(lines)
        plans = lines._qbo_time_activity_plans(self.company_id)
        rows, counts, minutes = [], defaultdict(int), defaultdict(int)
        causes = {}
        by_customer, by_payee = defaultdict(Totals), defaultdict(Totals)
        no_customer = self.env._("No customer (internal time)")
        for line in lines:
            plan = plans[line.id]
            status = self._qbo_status(plan)
            counts[status] += 1
            if status in ("ready", "warning"):
                minutes["total"] += plan.minutes
                minutes["billable" if plan.billable else "not_billable"] += plan.minutes
                customer = plan.customer.display_name if plan.customer else no_customer
                by_customer[customer].add(plan)
                by_payee[plan.payee.display_name].add(plan)
            for problem in plan.problems:
                if problem.code != "skipped":  # not a problem: counted, shown on its line
                    cause = (problem.code, problem.fix_model, problem.fix_id)
                    if not problem.fix_id:  # no record names the cause: its sentence does
                        cause += (problem.message,)
                    causes.setdefault(cause, Cause(problem)).add(plan)
            if plan.problems and not self._qbo_in_quickbooks(line, status):
                rows.append(self._qbo_line_row(line, plan, status))
        self._qbo_clear()
        self._qbo_insert_timesheets(lines)
        self._qbo_insert_lines(rows)
        self.env["qbo.export.preview.problem"].create(
            [cause.values(self.id) for cause in sorted(causes.values(), key=Cause.order)]
        )
        self.write(
            {
                "connection_problem": self._qbo_connection_problem() or False,
                "count_lines": len(lines),
                "count_ready": counts["ready"],
                "count_warning": counts["warning"],
                "count_blocked": counts["blocked"],
                "count_skipped": counts["skipped"],
                "hours_total": minutes["total"] / 60.0,
                "hours_billable": minutes["billable"] / 60.0,
                "hours_not_billable": minutes["not_billable"] / 60.0,
                "summary_html": self._qbo_summary_html(by_customer, by_payee),
            }
        )

    @api.model
    def _qbo_in_quickbooks(self, line, status):
        """Skipped because QBO has it (or deleted it): All lines says so on its badge, so it
        gets no row (re-selecting a month already exported stays fast)."""
        return status == "skipped" and line.qbo_state in ("exported", "deleted")

    def _qbo_line_row(self, line, plan, status):
        """One preview line's column values (``LINE_COLUMNS`` order)."""
        fix = next((p for p in plan.problems if p.fix_model), None)
        return (
            self.id,
            line.id,
            line.date,
            line.employee_id.id or None,
            line.project_id.id or None,
            (plan.description or "")[:200],
            plan.customer.id if plan.customer else None,
            plan.payee.id if plan.payee else None,
            plan.item.id if plan.item else None,
            plan.qbo_class.id if plan.qbo_class else None,
            plan.billable,
            plan.hourly_rate or 0.0,
            plan.minutes,
            hours_minutes(plan.minutes),
            status,
            STATUS_ORDER.index(status),
            "\n".join(p.message for p in plan.problems) or None,
            fix.fix_model if fix else None,
            fix.fix_id if fix else 0,
        )

    def _qbo_clear(self):
        """Forget the previous evaluation (Refresh): one DELETE, not an unlink per row."""
        self.problem_ids.unlink()
        self.env.cr.execute(
            SQL("DELETE FROM qbo_export_preview_line WHERE preview_id = %s", self.id)
        )
        self.invalidate_recordset(["line_ids"])

    def _qbo_insert_timesheets(self, lines):
        """The selected lines in one INSERT of id pairs: their read access is checked
        already (one query); the ORM's many2many write would check each line again, in
        Python (a second per 10,000 lines for anyone but an administrator)."""
        self.env.cr.execute(
            SQL("DELETE FROM qbo_export_preview_timesheet_rel WHERE preview_id = %s", self.id)
        )
        if lines:
            self.env.cr.execute(
                SQL(
                    "INSERT INTO qbo_export_preview_timesheet_rel (preview_id, line_id) "
                    "SELECT %s, unnest(%s::int[])",
                    self.id,
                    lines.ids,
                )
            )
        self.invalidate_recordset(["timesheet_ids"])

    def _qbo_insert_lines(self, rows):
        """The lines with problems in one INSERT: the preview's own, read-only rows."""
        if not rows:
            return
        uid = self.env.uid
        columns = ", ".join(LINE_COLUMNS)
        self.env.cr.execute_values(
            f"INSERT INTO qbo_export_preview_line ({columns}, create_uid, write_uid, "  # noqa: S608
            "create_date, write_date) VALUES %s",
            rows,
            template="(" + ", ".join(["%s"] * len(LINE_COLUMNS)) + f", {int(uid)}, {int(uid)}, "
            "now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')",
            page_size=len(rows),
        )

    @api.model
    def _qbo_status(self, plan):
        if plan.skipped:
            return "skipped"
        if plan.blocked:
            return "blocked"
        return "warning" if plan.problems else "ready"

    def _qbo_connection_problem(self):
        """Company-wide problems: nothing can be sent until they are fixed."""
        company = self.company_id.sudo()
        if not company._qbo_is_connected():
            return self.env._(
                "%(company)s is not connected to QuickBooks Online: connect it in Settings.",
                company=company.name,
            )
        if not company.qbo_time_tracking:
            return self.env._(
                "Time Tracking is off in the QuickBooks Online company %(name)s: turn it on "
                "(QuickBooks: Settings > Account and settings > Time), then Refresh the lists "
                "in Settings.",
                name=company.qbo_company_name or "",
            )
        return ""

    @api.model
    def _qbo_summary_html(self, by_customer, by_payee):
        """Lines, hours and billable hours per QuickBooks customer and per employee/vendor."""

        def rows(totals):
            return [
                {"name": name, **total.display(self.env)}
                for name, total in sorted(totals.items(), key=lambda item: -item[1].minutes)
            ]

        return self.env["ir.qweb"]._render(
            "noko_qbo.qbo_export_preview_summary",
            {"customers": rows(by_customer), "payees": rows(by_payee)},
        )

    # ------------------------------------------------------------------ buttons

    def action_open_settings(self):
        """Settings > QuickBooks Online, where the connection and default item live."""
        check_caller(self)
        return self.env["ir.actions.act_window"]._for_xml_id(SETTINGS_ACTION)

    def action_refresh(self):
        """Evaluate the same lines again (after fixing a mapping, syncing lists...)."""
        self.ensure_one()
        check_caller(self, "write")
        self._qbo_sync_lists()
        self._qbo_build(self.timesheet_ids)
        return self._qbo_action_reopen()

    def _qbo_open_fix(self, fix_model, fix_id):
        """The one place a problem's Fix leads: its mapping in a dialog over the preview
        (saving it brings the preview back re-evaluated), else Settings (a whole page:
        Settings cannot open in a dialog)."""
        self.ensure_one()
        check_caller(self)
        if fix_model == "res.company":
            return self.action_open_settings()
        if fix_model not in FIX_VIEWS:
            return False
        target = self.env[fix_model].browse(fix_id).exists()
        if not target:
            return False
        check_caller(target)  # the row names any id: the mapping must be the caller's to open
        action = target._qbo_action_open()
        action["views"] = [(self.env.ref(FIX_VIEWS[fix_model]).id, "form")]
        action["context"] = {PREVIEW_CONTEXT_KEY: self.id, "dialog_size": "large"}
        return action

    @api.model
    def _qbo_back_from_fix(self):
        """After a fix dialog saved its mapping: the preview it came from, re-evaluated."""
        preview = self.browse(self.env.context.get(PREVIEW_CONTEXT_KEY)).exists()
        if not preview:
            return {"type": "ir.actions.act_window_close"}
        return preview.action_refresh()

    def action_confirm(self):
        """Approve and lock every previewed, not yet exported line and queue the export."""
        self.ensure_one()
        check_caller(self, "write")
        # Serialize confirmations of this preview: a double click waits here, then sees the run.
        self.env.cr.execute("SELECT id FROM qbo_export_preview WHERE id = %s FOR UPDATE", [self.id])
        if self.export_id:  # a second click: the run exists already
            return self.export_id._qbo_action_open()
        problem = self._qbo_connection_problem()
        if problem:
            raise UserError(problem)
        lines = self.timesheet_ids  # one query, whatever their number
        if not lines or not (self.count_ready or self.count_warning or self.count_blocked):
            raise UserError(
                self.env._(
                    "There is nothing to export: the selected lines are already in QuickBooks "
                    "Online or belong to another company."
                )
            )
        check_read(lines)  # one query for all of them
        run = self.env["qbo.export"]._qbo_start(lines, self.company_id)
        self.export_id = run
        return run._qbo_action_open()


class Totals:
    """Lines, minutes and billable minutes of one summary row."""

    __slots__ = ("billable", "count", "minutes")

    def __init__(self):
        self.count = self.minutes = self.billable = 0

    def add(self, plan):
        self.count += 1
        self.minutes += plan.minutes
        self.billable += plan.minutes if plan.billable else 0

    def display(self, env):
        return {
            "lines": count_lines(env, self.count),
            "hours": hours_minutes(self.minutes),
            "billable": hours_minutes(self.billable),
        }


class Cause(Totals):
    """The lines one problem cause (code and record to fix) touches."""

    __slots__ = ("problem",)

    def __init__(self, problem):
        super().__init__()
        self.problem = problem

    def order(self):
        return (not self.problem.blocking, -self.count, self.problem.message)

    def values(self, preview_id):
        problem = self.problem
        return {
            "preview_id": preview_id,
            "code": problem.code,
            "message": problem.message,
            "blocking": problem.blocking,
            "fix_model": problem.fix_model or False,
            "fix_res_id": problem.fix_id,
            "count_lines": self.count,
            "minutes": self.minutes,
        }
