"""The export preview: what every selected line becomes in QBO, before anything is locked.

Thin: the plan comes from ``account.analytic.line._qbo_time_activity_plans``
(set-based); this wizard stores it for display, sums it up and confirms it.
"""

import logging
from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..const import SETTINGS_ACTION
from ..models.qbo_access import check_caller
from ..qbo.errors import QboFault

_logger = logging.getLogger(__name__)


def hours_minutes(minutes):
    """``125`` → ``'2:05'``: the duration QBO will show."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours}:{rest:02d}"


class QboExportPreview(models.TransientModel):
    _name = "qbo.export.preview"
    _description = "QuickBooks Online export preview"

    company_id = fields.Many2one("res.company", required=True, readonly=True)
    line_ids = fields.One2many("qbo.export.preview.line", "preview_id", readonly=True)
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
        """Evaluate ``lines`` (read-access checked) and store one preview line each."""
        self.ensure_one()
        lines.check_access("read")
        plans = lines._qbo_time_activity_plans(self.company_id)
        values_list, totals = [], defaultdict(float)
        by_customer, by_payee = defaultdict(float), defaultdict(float)
        for line in lines:
            plan = plans[line.id]
            status = self._qbo_status(plan)
            totals[status] += 1
            if status in ("ready", "warning"):
                hours = plan.minutes / 60.0
                totals["hours"] += hours
                totals["billable" if plan.billable else "not_billable"] += hours
                by_customer[plan.customer.display_name if plan.customer else "-"] += hours
                by_payee[plan.payee.display_name if plan.payee else "-"] += hours
            fix = next((p for p in plan.problems if p.fix_model), None)
            values_list.append(
                {
                    "preview_id": self.id,
                    "line_id": line.id,
                    "date": line.date,
                    "employee_id": line.employee_id.id,
                    "project_id": line.project_id.id,
                    "description": (plan.description or "")[:200],
                    "customer_id": plan.customer.id if plan.customer else False,
                    "payee_id": plan.payee.id if plan.payee else False,
                    "item_id": plan.item.id if plan.item else False,
                    "class_id": plan.qbo_class.id if plan.qbo_class else False,
                    "billable": plan.billable,
                    "hourly_rate": plan.hourly_rate or 0.0,
                    "minutes": plan.minutes,
                    "duration": hours_minutes(plan.minutes),
                    "status": status,
                    "priority": ("blocked", "warning", "ready", "skipped").index(status),
                    "problem": "\n".join(p.message for p in plan.problems) or False,
                    "fix_model": fix.fix_model if fix else False,
                    "fix_res_id": fix.fix_id if fix else 0,
                }
            )
        self.line_ids.unlink()
        self.env["qbo.export.preview.line"].create(values_list)
        self.write(
            {
                "connection_problem": self._qbo_connection_problem() or False,
                "count_lines": len(lines),
                "count_ready": int(totals["ready"]),
                "count_warning": int(totals["warning"]),
                "count_blocked": int(totals["blocked"]),
                "count_skipped": int(totals["skipped"]),
                "hours_total": totals["hours"],
                "hours_billable": totals["billable"],
                "hours_not_billable": totals["not_billable"],
                "summary_html": self._qbo_summary_html(by_customer, by_payee),
            }
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
        def table(title, totals):
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>")
                % (name, hours_minutes(round(hours * 60)))
                for name, hours in sorted(totals.items(), key=lambda item: -item[1])
            )
            return Markup(
                "<div class='col-6'><table class='table table-sm'>"
                "<thead><tr><th>%s</th><th class='text-end'>%s</th></tr></thead>"
                "<tbody>%s</tbody></table></div>"
            ) % (title, self.env._("Hours"), rows)

        return Markup("<div class='row'>%s%s</div>") % (
            table(self.env._("QuickBooks customer"), by_customer),
            table(self.env._("QuickBooks employee / vendor"), by_payee),
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
        self._qbo_build(self.line_ids.line_id)
        return self._qbo_action_reopen()

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
        lines = self.line_ids.line_id
        if not lines or not (self.count_ready or self.count_warning or self.count_blocked):
            raise UserError(
                self.env._(
                    "There is nothing to export: the selected lines are already in QuickBooks "
                    "Online or belong to another company."
                )
            )
        lines.check_access("read")
        run = self.env["qbo.export"]._qbo_start(lines, self.company_id)
        self.export_id = run
        return run._qbo_action_open()
